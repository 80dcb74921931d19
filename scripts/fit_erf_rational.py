"""Fits the rational approximation erf(x) ≈ x·P(x²)/Q(x²) on [0, 4] used by VectorMath.erf.

Run: /usr/bin/python3 scripts/fit_erf_rational.py (needs numpy and mpmath). Iteratively reweighted
linearised least squares toward a minimax fit; prints, for each numerator/denominator degree, the
error of the fit in double and of its float32 evaluation (clamped to [-4, 4], where erf rounds to ±1
in float). RadProbe uses degrees (5, 5): fit error 2.2e-8, float32 evaluation error 3.7e-7.
"""
import numpy as np
from math import erf
from mpmath import mp, erf as merf
mp.dps=30
# fit erf(x) ~ x*P(x^2)/Q(x^2) on [0,4], P deg np_, Q deg nq, Q(0)=1
def fit(np_, nq, iters=30):
    x=np.concatenate([np.linspace(0,4,4000)])
    y=np.array([float(merf(v)) for v in x])
    w=np.ones_like(x)
    q_prev=np.ones_like(x)
    for it in range(iters):
        z=x*x
        A=np.concatenate([np.stack([x*z**k for k in range(np_+1)],1), np.stack([-y*z**k for k in range(1,nq+1)],1)],1)
        b=y
        W=w/q_prev
        sol,*_=np.linalg.lstsq(A*W[:,None], b*W, rcond=None)
        p=sol[:np_+1]; q=np.concatenate([[1.0],sol[np_+1:]])
        qv=sum(q[k]*z**k for k in range(nq+1)); pv=x*sum(p[k]*z**k for k in range(np_+1))
        err=pv/qv-y
        q_prev=qv
        # Lawson-ish reweighting toward minimax
        w=w*(np.abs(err)+1e-12)**0.3; w/=w.mean()
    return p,q,np.abs(err).max()
for np_,nq in [(5,5),(6,5),(6,6),(7,6)]:
    p,q,e=fit(np_,nq)
    # float32 evaluation error
    xs=np.linspace(-5,5,200001).astype(np.float32)
    xc=np.clip(xs,-4,4).astype(np.float32); z=(xc*xc).astype(np.float32)
    P=np.float32(0); 
    P=np.zeros_like(z)
    for c in p[::-1]: P=(P*z+np.float32(c)).astype(np.float32)
    Q=np.zeros_like(z)
    for c in q[::-1]: Q=(Q*z+np.float32(c)).astype(np.float32)
    r=(xc*P/Q).astype(np.float32)
    ref=np.array([erf(float(v)) for v in xs])
    print(np_,nq,"double fit err",e,"float eval err",np.abs(r-ref).max())
    print("p=",[float(c) for c in p]); print("q=",[float(c) for c in q])
