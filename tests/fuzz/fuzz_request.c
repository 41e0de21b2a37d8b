/* fuzz_request.c - libFuzzer target: bytes from a party, as intake reads them.
 * Unpacks a Request, validates it as every configured party (and as an
 * unknown sender) against the test policy, then packs and unpacks it again.
 * Beyond "no crash, no leak, no sanitizer report" it checks:
 *   - a verdict is consistent (0 means CODE_OK and no field; -1 a code and
 *     a message) and its text is printable ASCII, so hostile bytes never
 *     reach a Reply or a log line raw;
 *   - the re-packed request unpacks, packs to the same bytes, and gets the
 *     same verdict from every party (intake and wzctl see one message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wz_codec.h"
#include "wz_fuzz.h"
#include "wz_validate.h"

/* The policy every input is validated against: loaded once, read-only after. */
static wz_policy_t *s_policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    s_policy = wz_fuzz_test_policy();
    if (s_policy->n_parties == 0)
        wz_fuzz_fail("the test policy has no parties");
    return 0;
}

static void s_check_text(const char *what, const char *text, size_t cap)
{
    size_t len = strnlen(text, cap);
    if (len == cap)
        wz_fuzz_fail("verdict %s is not NUL-terminated", what);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 || c > 0x7e)
            wz_fuzz_fail("verdict %s has byte 0x%02x at %zu: \"%s\"", what, c, i, text);
    }
}

static void s_check_verdict(int rc, const wz_verdict_t *v, const char *actor)
{
    s_check_text("field", v->field, sizeof v->field);
    s_check_text("message", v->message, sizeof v->message);
    if (rc == 0) {
        if (v->code != WOONZORG__V1__CODE__CODE_OK || v->field[0] || v->message[0])
            wz_fuzz_fail("accepted for %s, yet code %d field '%s' message '%s'", actor,
                         (int)v->code, v->field, v->message);
    } else if (rc == -1) {
        if (v->code == WOONZORG__V1__CODE__CODE_OK || !v->message[0])
            wz_fuzz_fail("refused for %s with code %d and message '%s'", actor, (int)v->code,
                         v->message);
    } else {
        wz_fuzz_fail("wz_validate_request returned %d for %s", rc, actor);
    }
}

/* Validates req as each party (index n_parties: an unknown sender). */
static void s_validate_all(const WzRequest *req, wz_verdict_t *verdicts, int *rcs)
{
    for (size_t i = 0; i <= s_policy->n_parties; i++) {
        const wz_party_t *actor = i < s_policy->n_parties ? &s_policy->parties[i] : NULL;
        rcs[i] = wz_validate_request(req, s_policy, actor, &verdicts[i]);
        s_check_verdict(rcs[i], &verdicts[i], actor ? actor->id : "(unknown sender)");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    WzRequest *req = wz_request_unpack(data, size);
    if (!req)
        return 0;
    size_t n = s_policy->n_parties + 1;
    wz_verdict_t *first = calloc(n, sizeof *first), *second = calloc(n, sizeof *second);
    int *rc1 = calloc(n, sizeof *rc1), *rc2 = calloc(n, sizeof *rc2);
    WzRequest *again = NULL;
    uint8_t *packed = NULL, *repacked = NULL;
    size_t len = 0, relen = 0;
    if (!first || !second || !rc1 || !rc2)
        goto out;

    s_validate_all(req, first, rc1);

    packed = wz_codec_pack(&req->base, &len);
    if (!packed)
        goto out;
    again = wz_request_unpack(packed, len);
    if (!again)
        wz_fuzz_fail("a packed request (%zu bytes) does not unpack again", len);
    repacked = wz_codec_pack(&again->base, &relen);
    if (!repacked)
        goto out;
    if (relen != len || memcmp(packed, repacked, len) != 0)
        wz_fuzz_fail("pack(unpack(pack(x))) differs from pack(x): %zu vs %zu bytes", relen, len);

    s_validate_all(again, second, rc2);
    for (size_t i = 0; i < n; i++) {
        const char *who = i < s_policy->n_parties ? s_policy->parties[i].id : "(unknown sender)";
        if (rc1[i] != rc2[i] || first[i].code != second[i].code ||
            strcmp(first[i].field, second[i].field) != 0 ||
            strcmp(first[i].message, second[i].message) != 0)
            wz_fuzz_fail("verdict for %s changed over a round trip: %d '%s' -> %d '%s'", who,
                         (int)first[i].code, first[i].message, (int)second[i].code,
                         second[i].message);
    }
out:
    free(repacked);
    free(packed);
    WZ_FREE_UNPACKED(again);
    WZ_FREE_UNPACKED(req);
    free(rc2);
    free(rc1);
    free(second);
    free(first);
    return 0;
}
