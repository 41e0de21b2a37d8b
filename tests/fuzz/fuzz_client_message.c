/* fuzz_client_message.c - libFuzzer target: bytes on the notification
 * endpoint, both ways. The same input is unpacked as a ClientMessage (what a
 * party sends: Hello, Ack), a Delivery (what a party's client reads) and an
 * Event (what every delivery and stream entry carries). Whatever unpacks is
 * packed again and must unpack and re-pack to the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "wz_codec.h"
#include "wz_fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* Packs m, unpacks that as the same type and checks it re-packs identically. */
static void s_round_trip(const ProtobufCMessage *m)
{
    size_t len = 0, relen = 0;
    uint8_t *packed = wz_codec_pack(m, &len);
    if (!packed)
        return;
    ProtobufCMessage *again = wz_codec_unpack(m->descriptor, packed, len);
    if (!again)
        wz_fuzz_fail("a packed %s (%zu bytes) does not unpack again", m->descriptor->name, len);
    uint8_t *repacked = wz_codec_pack(again, &relen);
    if (repacked && (relen != len || memcmp(packed, repacked, len) != 0))
        wz_fuzz_fail("%s: pack(unpack(pack(x))) differs from pack(x): %zu vs %zu bytes",
                     m->descriptor->name, relen, len);
    free(repacked);
    WZ_FREE_UNPACKED(again);
    free(packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    WzClientMessage *cm =
        (WzClientMessage *)WZ_UNPACK(woonzorg__v1__client_message__descriptor, data, size);
    if (cm) {
        if (cm->body_case == WOONZORG__V1__CLIENT_MESSAGE__BODY_HELLO && !cm->hello)
            wz_fuzz_fail("ClientMessage says hello but has none");
        if (cm->body_case == WOONZORG__V1__CLIENT_MESSAGE__BODY_ACK && !cm->ack)
            wz_fuzz_fail("ClientMessage says ack but has none");
        s_round_trip(&cm->base);
        WZ_FREE_UNPACKED(cm);
    }

    WzDelivery *delivery = (WzDelivery *)WZ_UNPACK(woonzorg__v1__delivery__descriptor, data, size);
    if (delivery) {
        s_round_trip(&delivery->base);
        WZ_FREE_UNPACKED(delivery);
    }

    WzEvent *ev = wz_event_unpack(data, size);
    if (ev) {
        if (ev->payload_case != WOONZORG__V1__EVENT__PAYLOAD__NOT_SET) {
            /* A set oneof case always comes with its message. */
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(
                ev->base.descriptor, (unsigned)ev->payload_case);
            if (!f)
                wz_fuzz_fail("Event payload case %d is not a field", (int)ev->payload_case);
            const ProtobufCMessage *const *member =
                (const ProtobufCMessage *const *)((const char *)ev + f->offset);
            if (!*member)
                wz_fuzz_fail("Event payload case %d without its message", (int)ev->payload_case);
        }
        s_round_trip(&ev->base);
        WZ_FREE_UNPACKED(ev);
    }
    return 0;
}
