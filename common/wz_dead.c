/* wz_dead.c - listing dead letters and asking for their replay (see wz_dead.h). */
#include "wz_dead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 256

int wz_dead_key(const wz_store_t *store, const char *region, const char *consumer, char *out,
                size_t outlen)
{
    return wz_store_key(store, out, outlen, region, "dead:%s", consumer);
}

int wz_dead_replay_key(const wz_store_t *store, const char *region, const char *consumer,
                       char *out, size_t outlen)
{
    return wz_store_key(store, out, outlen, region, "dead:%s:replay", consumer);
}

static void s_copy(char *out, size_t outlen, const redisReply *r)
{
    snprintf(out, outlen, "%.*s", r && r->type == REDIS_REPLY_STRING ? (int)r->len : 0,
             r && r->type == REDIS_REPLY_STRING ? r->str : "");
}

int wz_dead_list(wz_store_t *store, const char *region, const char *consumer,
                 wz_dead_letter_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char key[KEY_MAX], rkey[KEY_MAX];
    if (wz_dead_key(store, region, consumer, key, sizeof key) != 0 ||
        wz_dead_replay_key(store, region, consumer, rkey, sizeof rkey) != 0)
        return -1;
    redisReply *r = wz_store_cmd(store, "XRANGE %s - +", key);
    if (!r)
        return -1;
    redisReply *asked = wz_store_cmd(store, "SMEMBERS %s", rkey);
    if (!asked) {
        freeReplyObject(r);
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements) {
        *out = calloc(r->elements, sizeof **out);
        if (!*out) {
            freeReplyObject(r);
            freeReplyObject(asked);
            return -1;
        }
    }
    for (size_t i = 0; *out && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
            continue;
        wz_dead_letter_t *d = &(*out)[(*n)++];
        s_copy(d->id, sizeof d->id, e->element[0]);
        snprintf(d->consumer, sizeof d->consumer, "%s", consumer);
        const redisReply *f = e->element[1];
        for (size_t j = 0; j + 1 < f->elements; j += 2) {
            const char *name = f->element[j]->str;
            const redisReply *v = f->element[j + 1];
            char num[32];
            if (!strcmp(name, "producer"))
                s_copy(d->producer, sizeof d->producer, v);
            else if (!strcmp(name, "event_id"))
                s_copy(d->event_id, sizeof d->event_id, v);
            else if (!strcmp(name, "reason"))
                s_copy(d->reason, sizeof d->reason, v);
            else if (!strcmp(name, "seq") || !strcmp(name, "attempts") || !strcmp(name, "at_ms")) {
                s_copy(num, sizeof num, v);
                unsigned long long x = strtoull(num, NULL, 10);
                if (!strcmp(name, "seq"))
                    d->seq = x;
                else if (!strcmp(name, "attempts"))
                    d->attempts = (unsigned)x;
                else
                    d->at_ms = (int64_t)x;
            }
        }
        char member[80];
        snprintf(member, sizeof member, "%s:%llu", d->producer, (unsigned long long)d->seq);
        for (size_t j = 0; asked->type == REDIS_REPLY_ARRAY && j < asked->elements; j++)
            if (asked->element[j]->type == REDIS_REPLY_STRING &&
                strcmp(asked->element[j]->str, member) == 0)
                d->replay_requested = true;
    }
    freeReplyObject(r);
    freeReplyObject(asked);
    return 0;
}

int wz_dead_request_replay(wz_store_t *store, const char *region, const char *consumer,
                           const char *producer, uint64_t seq)
{
    wz_dead_letter_t *all = NULL;
    size_t n = 0;
    if (wz_dead_list(store, region, consumer, &all, &n) != 0)
        return -1;
    bool found = false;
    for (size_t i = 0; i < n && !found; i++)
        found = all[i].seq == seq && strcmp(all[i].producer, producer) == 0;
    free(all);
    if (!found)
        return 1;
    char rkey[KEY_MAX], member[80];
    if (wz_dead_replay_key(store, region, consumer, rkey, sizeof rkey) != 0)
        return -1;
    snprintf(member, sizeof member, "%s:%llu", producer, (unsigned long long)seq);
    redisReply *r = wz_store_cmd(store, "SADD %s %s", rkey, member);
    if (!r)
        return -1;
    freeReplyObject(r);
    return 0;
}
