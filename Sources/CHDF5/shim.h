// HDF5 (Debian libhdf5-dev, serial): MATLAB v7.3 files are HDF5 files.
// The include and library paths come from pkg-config ("hdf5"), as Debian keeps them under hdf5/serial.
#include <hdf5.h>
