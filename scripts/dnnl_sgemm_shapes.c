// Single-threaded oneDNN SGEMM throughput on the matrix shapes of a ViT-S/B forward pass (row-major,
// leading dimensions as RadProbe passes them: QKV column blocks have ld 3D). Not part of the build.
//   gcc -O2 scripts/dnnl_sgemm_shapes.c -o /tmp/dnnl_sgemm_shapes -ldnnl && OMP_NUM_THREADS=1 /tmp/dnnl_sgemm_shapes
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void run(char ta,char tb,int M,int N,int K,int lda,int ldb,int ldc,int reps){
  float*A=calloc((long)M*lda+K*lda,4),*B=calloc((long)(K>N?K:N)*ldb+1000,4),*C=calloc((long)M*ldc+10,4);
  for(int w=0;w<3;w++) dnnl_sgemm(ta,tb,M,N,K,1.f,A,lda,B,ldb,0.f,C,ldc);
  double t=now(); for(int r=0;r<reps;r++) dnnl_sgemm(ta,tb,M,N,K,1.f,A,lda,B,ldb,0.f,C,ldc); t=now()-t;
  printf("%c%c m%d n%d k%d: %.1f GFLOP/s\n",ta,tb,M,N,K,2.0*M*N*K*reps/t/1e9); free(A);free(B);free(C);}
int main(){
  run('N','T',4112,1152,384,384,384,1152,5);
  run('N','T',128,1536,384,384,384,1536,200);
  run('N','T',256,1536,384,384,384,1536,100);
  run('N','T',128,384,1536,1536,1536,384,200);
  run('N','T',128,257,64,1152,1152,257,2000);
  run('N','N',128,64,257,257,1152,384,2000);
  run('N','T',128,1025,64,1152,1152,1025,500);
  run('N','N',128,64,1025,1025,1152,384,500);
  run('N','T',128,1025,64,2304,2304,1025,500);
  run('N','N',128,64,1025,1025,2304,768,500);
}
