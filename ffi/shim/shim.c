/* See shim.h. Every function forwards to DPDK; nothing else lives here. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_config.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "shim.h"

uint16_t ffi_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
			      struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t ffi_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
			      struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *ffi_rte_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int ffi_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
			       unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void ffi_rte_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

void ffi_rte_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count)
{
	rte_pktmbuf_free_bulk(mbufs, count);
}

void *ffi_rte_pktmbuf_mtod(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, void *);
}

char *ffi_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_prepend(m, len);
}

char *ffi_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

char *ffi_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_adj(m, len);
}

int ffi_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_trim(m, len);
}

uint16_t ffi_rte_pktmbuf_headroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_headroom(m);
}

uint16_t ffi_rte_pktmbuf_tailroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_tailroom(m);
}

void ffi_rte_pktmbuf_reset(struct rte_mbuf *m)
{
	rte_pktmbuf_reset(m);
}

int ffi_rte_pktmbuf_linearize(struct rte_mbuf *m)
{
	return rte_pktmbuf_linearize(m);
}

uint16_t ffi_rte_mbuf_refcnt_read(const struct rte_mbuf *m)
{
	return rte_mbuf_refcnt_read(m);
}

unsigned int ffi_rte_mempool_avail_count(const struct rte_mempool *mp)
{
	return rte_mempool_avail_count(mp);
}

unsigned int ffi_rte_lcore_id(void)
{
	return rte_lcore_id();
}

int ffi_rte_errno(void)
{
	return rte_errno;
}

void ffi_rte_errno_set(int value)
{
	rte_errno = value;
}

uint64_t ffi_rte_rdtsc(void)
{
	return rte_rdtsc();
}

uint64_t ffi_rte_get_tsc_hz(void)
{
	return rte_get_tsc_hz();
}

unsigned int ffi_rte_ring_enqueue_burst(struct rte_ring *r, void *const *objs,
					unsigned int n, unsigned int *free_space)
{
	return rte_ring_enqueue_burst(r, objs, n, free_space);
}

unsigned int ffi_rte_ring_dequeue_burst(struct rte_ring *r, void **objs,
					unsigned int n, unsigned int *available)
{
	return rte_ring_dequeue_burst(r, objs, n, available);
}

unsigned int ffi_rte_ring_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

static FILE *capture_stream;
static char *capture_buf;
static size_t capture_len;

int ffi_log_capture_begin(void)
{
	/* Once per process (EAL init runs once). */
	if (capture_stream != NULL)
		return -1;
	capture_stream = open_memstream(&capture_buf, &capture_len);
	if (capture_stream == NULL)
		return -1;
	if (rte_openlog_stream(capture_stream) != 0) {
		fclose(capture_stream);
		free(capture_buf);
		capture_stream = NULL;
		capture_buf = NULL;
		return -1;
	}
	return 0;
}

size_t ffi_log_capture_end(char *out, size_t cap)
{
	size_t n = 0;
	FILE *f = capture_stream;

	if (f == NULL)
		return 0;
	rte_openlog_stream(NULL);
	/*
	 * An EAL thread started during init may still hold the stream it got
	 * before the switch back: never close it (a few bytes, once per
	 * process), and read the buffer under the stream's lock.
	 */
	flockfile(f);
	fflush(f);
	if (capture_buf != NULL) {
		n = capture_len < cap ? capture_len : cap;
		memcpy(out, capture_buf + (capture_len - n), n);
	}
	funlockfile(f);
	return n;
}
