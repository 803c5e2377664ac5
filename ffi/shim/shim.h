/*
 * C shim over DPDK's static-inline fast path (and the few macros the Rust
 * side needs), compiled by build.rs with the raw `pkg-config --cflags libdpdk`
 * flags. Each function is a one-line forward to the DPDK function of the same
 * name without the `ffi_` prefix; the Rust wrappers in src/ document the
 * contracts.
 */
#ifndef FFI_DPDK_SHIM_H
#define FFI_DPDK_SHIM_H

#include <stddef.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* ethdev */
uint16_t ffi_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
			      struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t ffi_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
			      struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* mbuf */
struct rte_mbuf *ffi_rte_pktmbuf_alloc(struct rte_mempool *mp);
int ffi_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
			       unsigned int count);
void ffi_rte_pktmbuf_free(struct rte_mbuf *m);
void ffi_rte_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count);
void *ffi_rte_pktmbuf_mtod(struct rte_mbuf *m);
char *ffi_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *ffi_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *ffi_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int ffi_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t ffi_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t ffi_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
void ffi_rte_pktmbuf_reset(struct rte_mbuf *m);
int ffi_rte_pktmbuf_linearize(struct rte_mbuf *m);
uint16_t ffi_rte_mbuf_refcnt_read(const struct rte_mbuf *m);

/* mempool */
unsigned int ffi_rte_mempool_avail_count(const struct rte_mempool *mp);

/* lcore, errno, cycles */
unsigned int ffi_rte_lcore_id(void);
int ffi_rte_errno(void);
void ffi_rte_errno_set(int value);
uint64_t ffi_rte_rdtsc(void);
uint64_t ffi_rte_get_tsc_hz(void);

/* ring (burst, exact-count-or-less variants) */
unsigned int ffi_rte_ring_enqueue_burst(struct rte_ring *r, void *const *objs,
					unsigned int n, unsigned int *free_space);
unsigned int ffi_rte_ring_dequeue_burst(struct rte_ring *r, void **objs,
					unsigned int n, unsigned int *available);
unsigned int ffi_rte_ring_count(const struct rte_ring *r);

/*
 * EAL log capture: while active, DPDK's log goes into a memory buffer (so
 * that an error can quote what EAL said). End copies at most `cap` bytes of
 * the tail of the log into `out` (not NUL-terminated) and returns how many.
 * Returns -1 from begin when the buffer cannot be opened, or on a second
 * call (the buffer is used once per process and never closed, since an EAL
 * thread may still write to it).
 */
int ffi_log_capture_begin(void);
size_t ffi_log_capture_end(char *out, size_t cap);

#endif
