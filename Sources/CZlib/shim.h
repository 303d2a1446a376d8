// CZlib: zlib, which inflates the gzip layers of container images.
#include <zlib.h>
