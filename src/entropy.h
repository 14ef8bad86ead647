/*
 * entropy — unpredictable bytes for masking keys and Sec-WebSocket-Key
 * (RFC 6455 §5.3 and §10.3: a client's masking key must not be
 * predictable, so never rand()).  OpenSSL's DRBG, drawn in blocks so
 * that a 4-byte key per frame costs a copy, not a call into OpenSSL.
 */
#ifndef WSGATE_ENTROPY_H
#define WSGATE_ENTROPY_H

#include <stddef.h>

/* Fills buf with n unpredictable bytes; exits if OpenSSL cannot. */
void	entropy_bytes(void *buf, size_t n);

#endif
