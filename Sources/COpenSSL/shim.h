// COpenSSL: OpenSSL, which libmosquitto uses for TLS and the agent for its node key.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
