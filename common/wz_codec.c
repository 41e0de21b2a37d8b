/* wz_codec.c - protobuf-c messages to bytes and ZeroMQ frames and back. */
#include "wz_codec.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int wz_codec_pack_msg(const ProtobufCMessage *m, zmq_msg_t *out)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    if (zmq_msg_init_size(out, len) != 0)
        return -1;
    if (len > 0)
        protobuf_c_message_pack(m, zmq_msg_data(out));
    return 0;
}

uint8_t *wz_codec_pack(const ProtobufCMessage *m, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    /* One spare byte so an empty message still yields a non-NULL buffer. */
    uint8_t *buf = malloc(n + 1);
    if (!buf)
        return NULL;
    if (n > 0)
        protobuf_c_message_pack(m, buf);
    *len = n;
    return buf;
}

int wz_codec_send(void *socket, const ProtobufCMessage *m, int flags)
{
    zmq_msg_t msg;
    if (wz_codec_pack_msg(m, &msg) != 0)
        return -1;
    if (zmq_msg_send(&msg, socket, flags) < 0) {
        int saved = errno;
        zmq_msg_close(&msg);
        errno = saved;
        return -1;
    }
    return 0;
}

/* protobuf-c 1.4 refuses field number 0 only in a one-byte key; written as a
 * longer varint (82 00) it is kept as an unknown field, and packing writes it
 * back as the one-byte key that protobuf-c then refuses. Such a message would
 * be stored or emitted and never read again, so it counts as malformed. */
static bool s_field_numbers_valid(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return false;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            ProtobufCMessage *const *items = *(ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                if (!s_field_numbers_valid(items[j]))
                    return false;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)(base + f->offset);
            if (sub && !s_field_numbers_valid(sub))
                return false;
        }
    }
    return true;
}

ProtobufCMessage *wz_codec_unpack(const ProtobufCMessageDescriptor *d, const void *data, size_t len)
{
    /* protobuf-c reads nothing for len 0, but wants a non-NULL pointer. */
    static const uint8_t empty[1] = {0};
    ProtobufCMessage *m =
        protobuf_c_message_unpack(d, NULL, len, data ? (const uint8_t *)data : empty);
    if (m && !s_field_numbers_valid(m)) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

ProtobufCMessage *wz_codec_clone(const ProtobufCMessage *m)
{
    size_t len = 0;
    uint8_t *buf = wz_codec_pack(m, &len);
    if (!buf)
        return NULL;
    ProtobufCMessage *copy = wz_codec_unpack(m->descriptor, buf, len);
    free(buf);
    return copy;
}

WzEvent *wz_event_unpack(const void *data, size_t len)
{
    return (WzEvent *)WZ_UNPACK(woonzorg__v1__event__descriptor, data, len);
}

WzVacancy *wz_vacancy_unpack(const void *data, size_t len)
{
    return (WzVacancy *)WZ_UNPACK(woonzorg__v1__vacancy__descriptor, data, len);
}

WzCandidate *wz_candidate_unpack(const void *data, size_t len)
{
    return (WzCandidate *)WZ_UNPACK(woonzorg__v1__candidate__descriptor, data, len);
}

WzProposal *wz_proposal_unpack(const void *data, size_t len)
{
    return (WzProposal *)WZ_UNPACK(woonzorg__v1__proposal__descriptor, data, len);
}

WzRequest *wz_request_unpack(const void *data, size_t len)
{
    return (WzRequest *)WZ_UNPACK(woonzorg__v1__request__descriptor, data, len);
}

WzReply *wz_reply_unpack(const void *data, size_t len)
{
    return (WzReply *)WZ_UNPACK(woonzorg__v1__reply__descriptor, data, len);
}
