/*
 * The parts of Intel's IPsec Multi-Buffer library the dataplane uses: one
 * manager per process (its direct-API function pointers are chosen once for
 * this CPU and only read afterwards, so every thread may call them), and
 * AES-GCM key expansion, encryption and decryption with a 16-byte tag.
 *
 * The direct API keeps no state between calls other than the caller's
 * context, which lives on the stack here: calls from several threads with
 * the same key are safe.
 */
#include <intel-ipsec-mb.h>
#include <stdalign.h>
#include <stdint.h>

/* The Rust side reserves FV_IMB_KEY_SIZE bytes aligned to 64 for a key. */
#define FV_IMB_KEY_SIZE 1024
_Static_assert(sizeof(struct gcm_key_data) <= FV_IMB_KEY_SIZE,
               "gcm_key_data grew: raise KEY_DATA_SIZE in src/lib.rs too");
_Static_assert(alignof(struct gcm_key_data) == 64,
               "gcm_key_data is no longer 64-byte aligned");

static IMB_MGR *fv_mgr;

/* Allocates and initialises the manager for the best architecture this CPU
 * supports. Returns the IMB_ARCH in use (> 0), or -errno. Called once, under
 * the Rust side's OnceLock. */
int fv_imb_init(void)
{
        IMB_ARCH arch = IMB_ARCH_NONE;
        IMB_MGR *m = alloc_mb_mgr(0);

        if (m == NULL)
                return -1;
        init_mb_mgr_auto(m, &arch);
        if (imb_get_errno(m) != 0 || arch == IMB_ARCH_NONE) {
                int err = imb_get_errno(m);

                free_mb_mgr(m);
                return err ? -err : -1;
        }
        fv_mgr = m;
        return (int)arch;
}

const char *fv_imb_version(void)
{
        return imb_get_version_str();
}

/* key_len is 16 or 32 (checked by the caller). */
void fv_imb_gcm_pre(uint32_t key_len, const uint8_t *key,
                    struct gcm_key_data *out)
{
        if (key_len == 16)
                IMB_AES128_GCM_PRE(fv_mgr, key, out);
        else
                IMB_AES256_GCM_PRE(fv_mgr, key, out);
}

/* Encrypts (decrypt == 0) or decrypts `data` in place and writes the tag
 * computed over the ciphertext to `tag` (16 bytes). key_len is 16 or 32. */
void fv_imb_gcm(int decrypt, uint32_t key_len, const struct gcm_key_data *k,
                uint8_t *data, uint64_t len, const uint8_t *iv,
                const uint8_t *aad, uint64_t aad_len, uint8_t *tag)
{
        struct gcm_context_data ctx;

        if (key_len == 16) {
                if (decrypt)
                        IMB_AES128_GCM_DEC(fv_mgr, k, &ctx, data, data, len,
                                           iv, aad, aad_len, tag, 16);
                else
                        IMB_AES128_GCM_ENC(fv_mgr, k, &ctx, data, data, len,
                                           iv, aad, aad_len, tag, 16);
        } else {
                if (decrypt)
                        IMB_AES256_GCM_DEC(fv_mgr, k, &ctx, data, data, len,
                                           iv, aad, aad_len, tag, 16);
                else
                        IMB_AES256_GCM_ENC(fv_mgr, k, &ctx, data, data, len,
                                           iv, aad, aad_len, tag, 16);
        }
}
