/* wz_testfields.h - which fields of a protobuf-c message are set, by path,
 * for tests that check what a party is allowed to see. */
#ifndef WZ_TESTFIELDS_H_INCLUDED
#define WZ_TESTFIELDS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

/* Walks m and writes the dotted path of every set leaf field (a non-empty
 * string or bytes, a non-zero number, enum or bool; a set message counts
 * through its leaves, a present but empty one as itself) into out, one per
 * line, e.g. "proposal_created.proposal.candidate_id". Repeated fields
 * count by their elements. Returns the number of paths (out truncated
 * silently). */
size_t wz_test_set_fields(const ProtobufCMessage *m, char *out, size_t outlen);
/* Whether a set path of m ends in one of names (NULL terminated); the
 * first such path is copied to found. */
bool wz_test_first_set(const ProtobufCMessage *m, const char *const *names, char *found,
                       size_t foundlen);
/* Whether the leaf path (dotted, from m) is set. */
bool wz_test_is_set(const ProtobufCMessage *m, const char *path);

#endif
