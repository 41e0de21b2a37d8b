/* wz_testfields.c - set fields of a protobuf-c message by path (see
 * wz_testfields.h). */
#include "wz_testfields.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WALK_MAX (256 * 1024)

typedef struct {
    char *out;
    size_t outlen, used, n;
} s_acc_t;

static void s_emit(s_acc_t *a, const char *path)
{
    a->n++;
    if (!a->out || a->used >= a->outlen)
        return;
    int w = snprintf(a->out + a->used, a->outlen - a->used, "%s\n", path);
    if (w > 0)
        a->used += (size_t)w < a->outlen - a->used ? (size_t)w : a->outlen - a->used;
}

static bool s_scalar_set(const ProtobufCFieldDescriptor *f, const void *member)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
        return *(const uint32_t *)member != 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)member != 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return *(const uint64_t *)member != 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)member != 0;
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)member != 0;
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)member;
        return s && *s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)member)->len > 0;
    default:
        return false;
    }
}

static void s_walk(const ProtobufCMessage *m, const char *prefix, s_acc_t *a)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    size_t leaves = a->n;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        const void *member = base + f->offset;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            if (n == 0)
                continue;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)member;
                for (size_t k = 0; k < n; k++)
                    if (v[k])
                        s_walk(v[k], path, a);
            } else {
                s_emit(a, path);
            }
            continue;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            const ProtobufCMessage *sub = *(ProtobufCMessage *const *)member;
            if (sub)
                s_walk(sub, path, a);
            continue;
        }
        if (s_scalar_set(f, member))
            s_emit(a, path);
    }
    if (a->n == leaves && *prefix)
        s_emit(a, prefix); /* present, with nothing set inside */
}

size_t wz_test_set_fields(const ProtobufCMessage *m, char *out, size_t outlen)
{
    s_acc_t a = {out, outlen, 0, 0};
    if (out && outlen)
        out[0] = '\0';
    if (m)
        s_walk(m, "", &a);
    return a.n;
}

bool wz_test_first_set(const ProtobufCMessage *m, const char *const *names, char *found,
                       size_t foundlen)
{
    char *all = malloc(WALK_MAX);
    if (!all)
        abort();
    wz_test_set_fields(m, all, WALK_MAX);
    for (char *line = all, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        const char *leaf = strrchr(line, '.');
        leaf = leaf ? leaf + 1 : line;
        for (size_t i = 0; names[i]; i++)
            if (strcmp(leaf, names[i]) == 0) {
                snprintf(found, foundlen, "%s", line);
                free(all);
                return true;
            }
    }
    free(all);
    return false;
}

bool wz_test_is_set(const ProtobufCMessage *m, const char *path)
{
    char *all = malloc(WALK_MAX);
    if (!all)
        abort();
    wz_test_set_fields(m, all, WALK_MAX);
    size_t len = strlen(path);
    bool set = false;
    for (const char *p = all; !set && (p = strstr(p, path)) != NULL; p += len)
        set = (p == all || p[-1] == '\n') && (p[len] == '\n' || p[len] == '.');
    free(all);
    return set;
}
