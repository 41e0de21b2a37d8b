/* wz_codec.h - protobuf-c <-> bytes and ZeroMQ frames. The only module that
 * knows how messages are framed on the wire. */
#ifndef WZ_CODEC_H_INCLUDED
#define WZ_CODEC_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "wz_proto.h"

/* Packs m into a freshly initialised zmq message (caller closes it or sends it).
 * Returns 0, or -1 on allocation failure. */
int wz_codec_pack_msg(const ProtobufCMessage *m, zmq_msg_t *out);
/* Packs m into a malloc'd buffer the caller frees; NULL on allocation failure. */
uint8_t *wz_codec_pack(const ProtobufCMessage *m, size_t *len);
/* Packs m and sends it as one frame with flags (ZMQ_SNDMORE, ZMQ_DONTWAIT).
 * Returns 0, or -1 with errno from zmq_msg_send. */
int wz_codec_send(void *socket, const ProtobufCMessage *m, int flags);
/* Unpacks bytes as a message of descriptor d; NULL if malformed. The caller
 * frees with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *wz_codec_unpack(const ProtobufCMessageDescriptor *d, const void *data,
                                  size_t len);
/* Deep copy through pack/unpack; NULL on failure. Freed like an unpacked one. */
ProtobufCMessage *wz_codec_clone(const ProtobufCMessage *m);

#define WZ_UNPACK(type_desc, data, len) wz_codec_unpack(&(type_desc), (data), (len))

/* Typed helpers for the messages we store and pass around most. */
WzEvent *wz_event_unpack(const void *data, size_t len);
WzVacancy *wz_vacancy_unpack(const void *data, size_t len);
WzCandidate *wz_candidate_unpack(const void *data, size_t len);
WzProposal *wz_proposal_unpack(const void *data, size_t len);
WzRequest *wz_request_unpack(const void *data, size_t len);
WzReply *wz_reply_unpack(const void *data, size_t len);

/* Free an unpacked (or cloned) message; accepts NULL and nulls the pointer. */
#define WZ_FREE_UNPACKED(p)                                                        \
    do {                                                                           \
        if (p) protobuf_c_message_free_unpacked((ProtobufCMessage *)(p), NULL);    \
        (p) = NULL;                                                                \
    } while (0)

#endif
