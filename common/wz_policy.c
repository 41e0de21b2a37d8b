/* wz_policy.c - policy.yaml into wz_policy_t, validated as a whole: a policy
 * that loads is internally consistent (ids unique and valid, every reference
 * resolves, tables sorted), so no caller has to check it again. */
#include "wz_policy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "wz_calendar.h"
#include "wz_config.h"
#include "wz_keys.h"
#include "wz_util.h"

#define FS(type, field) offsetof(type, field), sizeof(((type *)0)->field)
#define FI(type, field) offsetof(type, field), 0
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_RENT_CENTS 500000 /* EUR 5,000 a month: anything above is a typo */
#define MAX_ANSWER_SECONDS (30 * 86400)

/* Party ids may not be these: services have key files of the same name. */
static const char *s_services[] = {"intake", "matching", "notification", "audit"};

typedef struct {
    const wz_doc_t *doc;
    char *err;
    size_t errlen;
} s_ctx_t;

static int s_fail(s_ctx_t *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_fail(s_ctx_t *c, int line, const char *fmt, ...)
{
    if (!c->err || c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "%s:%d: ", wz_doc_name(c->doc), line);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Line of item's key's value, else of item itself: errors point at the field. */
static int s_line(const wz_node_t *item, const char *key)
{
    const wz_node_t *node = wz_node_get(item, key);
    return node ? wz_node_line(node) : wz_node_line(item);
}

/* The non-empty list under key of map (fill already made sure it is present). */
static const wz_node_t *s_list(s_ctx_t *c, const wz_node_t *map, const char *key, const char *what)
{
    const wz_node_t *list = wz_node_get(map, key);
    if (!list || wz_node_kind(list) != WZ_NODE_SEQ) {
        s_fail(c, list ? wz_node_line(list) : wz_node_line(map), "'%s' must be a list of %s", key,
               what);
        return NULL;
    }
    if (wz_node_count(list) == 0) {
        s_fail(c, wz_node_line(list), "'%s' must list at least one of %s", key, what);
        return NULL;
    }
    return list;
}

/* Fills one list entry, which must be a map. */
static int s_fill_item(s_ctx_t *c, const wz_node_t *item, const char *list_name,
                       const wz_cfg_field_t *fields, size_t n, void *out)
{
    if (wz_node_kind(item) != WZ_NODE_MAP)
        return s_fail(c, wz_node_line(item), "each entry of '%s' must be a map", list_name);
    return wz_config_fill(c->doc, item, fields, n, out, NULL, c->err, c->errlen);
}

static int s_check_id(s_ctx_t *c, const wz_node_t *item, const char *what, const char *id)
{
    if (wz_id_valid(id, WZ_ID_MAX - 1))
        return 0;
    return s_fail(c, s_line(item, "id"),
                  "%s id '%s' is not valid: use 1..%d of A-Z a-z 0-9 . _ -, not starting with "
                  ". or -",
                  what, id, WZ_ID_MAX - 1);
}

static int s_check_name(s_ctx_t *c, const wz_node_t *item, const char *what, const char *id,
                        const char *name)
{
    if (*name)
        return 0;
    return s_fail(c, s_line(item, "name"), "%s '%s' has an empty name", what, id);
}

/* --- sections ---------------------------------------------------------------- */

static int s_load_groups(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    const wz_node_t *list = s_list(c, root, "groups", "target groups");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->groups = calloc(n, sizeof *self->groups);
    if (!self->groups)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        const char *text = wz_node_text(item);
        if (!text)
            return s_fail(c, wz_node_line(item), "each group must be a single name");
        if (!wz_id_valid(text, WZ_ID_MAX - 1))
            return s_fail(c, wz_node_line(item),
                          "group '%s' is not valid: use 1..%d of A-Z a-z 0-9 . _ -", text,
                          WZ_ID_MAX - 1);
        for (size_t j = 0; j < self->n_groups; j++)
            if (strcmp(self->groups[j], text) == 0)
                return s_fail(c, wz_node_line(item), "group '%s' is listed twice", text);
        wz_strlcpy(self->groups[self->n_groups++], text, WZ_ID_MAX);
    }
    return 0;
}

static int s_load_rent_limits(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    static const wz_cfg_field_t fields[] = {
        {"year", WZ_CFG_INT, FI(wz_rent_limits_t, year), NULL, 1900, 2199},
        {"max_rent_1_2", WZ_CFG_MONEY, FI(wz_rent_limits_t, max_rent_1_2), NULL, 1, MAX_RENT_CENTS},
        {"max_rent_3_plus", WZ_CFG_MONEY, FI(wz_rent_limits_t, max_rent_3_plus), NULL, 1,
         MAX_RENT_CENTS},
        {"max_rent_under_23", WZ_CFG_MONEY, FI(wz_rent_limits_t, max_rent_under_23), NULL, 1,
         MAX_RENT_CENTS},
        {"social_rent_limit", WZ_CFG_MONEY, FI(wz_rent_limits_t, social_rent_limit), NULL, 1,
         MAX_RENT_CENTS},
    };
    const wz_node_t *list = s_list(c, root, "rent_limits", "yearly rent limits");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->rent_limits = calloc(n, sizeof *self->rent_limits);
    if (!self->rent_limits)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        wz_rent_limits_t *r = &self->rent_limits[i];
        if (s_fill_item(c, item, "rent_limits", fields, COUNT(fields), r) != 0)
            return -1;
        if (i > 0 && r->year <= r[-1].year)
            return s_fail(c, s_line(item, "year"),
                          "rent_limits: year %d must come after %d (one row per year, in order)",
                          r->year, r[-1].year);
        /* The four limits are nested by law; a violation means swapped columns. */
        if (!(r->max_rent_under_23 <= r->max_rent_1_2 && r->max_rent_1_2 <= r->max_rent_3_plus &&
              r->max_rent_3_plus <= r->social_rent_limit))
            return s_fail(c, wz_node_line(item),
                          "rent_limits %d: expected max_rent_under_23 <= max_rent_1_2 <= "
                          "max_rent_3_plus <= social_rent_limit",
                          r->year);
        self->n_rent_limits++;
    }
    return 0;
}

static int s_load_occupancy(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    static const wz_cfg_field_t fields[] = {
        {"persons", WZ_CFG_INT, FI(wz_occupancy_t, persons), NULL, 1, 50},
        {"min_rooms", WZ_CFG_INT, FI(wz_occupancy_t, min_rooms), NULL, 1, 50},
        {"min_area_m2", WZ_CFG_INT, FI(wz_occupancy_t, min_area_m2), NULL, 1, 2000},
    };
    const wz_node_t *list = s_list(c, root, "occupancy", "household sizes");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->occupancy = calloc(n, sizeof *self->occupancy);
    if (!self->occupancy)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        wz_occupancy_t *o = &self->occupancy[i];
        if (s_fill_item(c, item, "occupancy", fields, COUNT(fields), o) != 0)
            return -1;
        if (i == 0 && o->persons != 1)
            return s_fail(c, s_line(item, "persons"), "occupancy must start at persons: 1 (got %d)",
                          o->persons);
        if (i > 0 && o->persons <= o[-1].persons)
            return s_fail(c, s_line(item, "persons"),
                          "occupancy: persons %d must come after %d (strictly increasing)",
                          o->persons, o[-1].persons);
        self->n_occupancy++;
    }
    return 0;
}

/* "BU" + 8 digits whose first 4 are the municipality's CBS number. */
static bool s_buurt_code_ok(const char *code, const char *cbs)
{
    if (strlen(code) != 10 || strncmp(code, "BU", 2) != 0)
        return false;
    for (int i = 2; i < 10; i++)
        if (code[i] < '0' || code[i] > '9')
            return false;
    return strncmp(code + 2, cbs + 2, 4) == 0;
}

static bool s_gemeente_code_ok(const char *cbs)
{
    if (strlen(cbs) != 6 || strncmp(cbs, "GM", 2) != 0)
        return false;
    for (int i = 2; i < 6; i++)
        if (cbs[i] < '0' || cbs[i] > '9')
            return false;
    return true;
}

/* Neighbourhood codes are unique across the whole policy; this finds those of
 * the municipalities counted so far (the caller checks the current one). */
static const wz_neighbourhood_t *s_find_code(const wz_policy_t *self, const char *code)
{
    for (size_t r = 0; r < self->n_regions; r++) {
        const wz_region_t *reg = &self->regions[r];
        for (size_t m = 0; m < reg->n_municipalities; m++) {
            const wz_neighbourhood_t *nb =
                wz_municipality_neighbourhood(&reg->municipalities[m], code);
            if (nb)
                return nb;
        }
    }
    return NULL;
}

/* Regions are counted before their municipalities load, so this sees every
 * municipality before the current one. */
static const wz_municipality_t *s_find_cbs(const wz_policy_t *self, const char *cbs)
{
    for (size_t r = 0; r < self->n_regions; r++)
        for (size_t m = 0; m < self->regions[r].n_municipalities; m++)
            if (strcmp(self->regions[r].municipalities[m].cbs, cbs) == 0)
                return &self->regions[r].municipalities[m];
    return NULL;
}

static int s_load_neighbourhoods(s_ctx_t *c, wz_policy_t *self, wz_municipality_t *mun,
                                 const wz_node_t *item)
{
    static const wz_cfg_field_t fields[] = {
        {"code", WZ_CFG_STRING, FS(wz_neighbourhood_t, code), NULL, 0, 0},
        {"name", WZ_CFG_STRING, FS(wz_neighbourhood_t, name), NULL, 0, 0},
        {"lat", WZ_CFG_DOUBLE, FI(wz_neighbourhood_t, lat), NULL, -90, 90},
        {"lon", WZ_CFG_DOUBLE, FI(wz_neighbourhood_t, lon), NULL, -180, 180},
    };
    const wz_node_t *list = s_list(c, item, "neighbourhoods", "neighbourhoods");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    mun->neighbourhoods = calloc(n, sizeof *mun->neighbourhoods);
    if (!mun->neighbourhoods)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *nitem = wz_node_item(list, i);
        wz_neighbourhood_t nb;
        memset(&nb, 0, sizeof nb);
        if (s_fill_item(c, nitem, "neighbourhoods", fields, COUNT(fields), &nb) != 0)
            return -1;
        if (!s_buurt_code_ok(nb.code, mun->cbs))
            return s_fail(c, s_line(nitem, "code"),
                          "neighbourhood code '%s' is not a CBS buurt code of %s (BU%.4s + 4 "
                          "digits)",
                          nb.code, mun->cbs, mun->cbs + 2);
        if (s_find_code(self, nb.code) || wz_municipality_neighbourhood(mun, nb.code))
            return s_fail(c, s_line(nitem, "code"), "neighbourhood code '%s' is listed twice",
                          nb.code);
        if (!*nb.name)
            return s_fail(c, s_line(nitem, "name"), "neighbourhood '%s' has an empty name",
                          nb.code);
        mun->neighbourhoods[mun->n_neighbourhoods++] = nb;
    }
    return 0;
}

static int s_load_municipalities(s_ctx_t *c, wz_policy_t *self, wz_region_t *reg,
                                 const wz_node_t *item)
{
    static const wz_cfg_field_t fields[] = {
        {"id", WZ_CFG_STRING, FS(wz_municipality_t, id), NULL, 0, 0},
        {"name", WZ_CFG_STRING, FS(wz_municipality_t, name), NULL, 0, 0},
        {"cbs", WZ_CFG_STRING, FS(wz_municipality_t, cbs), NULL, 0, 0},
        {"neighbourhoods", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
    };
    const wz_node_t *list = s_list(c, item, "municipalities", "municipalities");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    reg->municipalities = calloc(n, sizeof *reg->municipalities);
    if (!reg->municipalities)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *mitem = wz_node_item(list, i);
        wz_municipality_t *mun = &reg->municipalities[reg->n_municipalities];
        if (s_fill_item(c, mitem, "municipalities", fields, COUNT(fields), mun) != 0 ||
            s_check_id(c, mitem, "municipality", mun->id) != 0 ||
            s_check_name(c, mitem, "municipality", mun->id, mun->name) != 0)
            return -1;
        if (wz_region_municipality(reg, mun->id))
            return s_fail(c, s_line(mitem, "id"),
                          "municipality id '%s' is listed twice in region '%s'", mun->id, reg->id);
        if (!s_gemeente_code_ok(mun->cbs))
            return s_fail(c, s_line(mitem, "cbs"),
                          "municipality '%s': cbs '%s' is not a CBS gemeente code (GM + 4 digits)",
                          mun->id, mun->cbs);
        if (s_find_cbs(self, mun->cbs))
            return s_fail(c, s_line(mitem, "cbs"), "CBS code %s is used by two municipalities",
                          mun->cbs);
        if (s_load_neighbourhoods(c, self, mun, mitem) != 0) {
            /* Counted so destroy frees the partial neighbourhood array. */
            reg->n_municipalities++;
            return -1;
        }
        reg->n_municipalities++;
    }
    return 0;
}

static int s_load_regions(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    static const wz_cfg_field_t fields[] = {
        {"id", WZ_CFG_STRING, FS(wz_region_t, id), NULL, 0, 0},
        {"name", WZ_CFG_STRING, FS(wz_region_t, name), NULL, 0, 0},
        {"answer_working_days", WZ_CFG_INT, FI(wz_region_t, answer_working_days), NULL, 1, 60},
        {"answer_seconds", WZ_CFG_INT, FI(wz_region_t, answer_seconds), "0", 0, MAX_ANSWER_SECONDS},
        {"municipalities", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
    };
    const wz_node_t *list = s_list(c, root, "regions", "regions");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->regions = calloc(n, sizeof *self->regions);
    if (!self->regions)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        wz_region_t *reg = &self->regions[self->n_regions];
        if (s_fill_item(c, item, "regions", fields, COUNT(fields), reg) != 0 ||
            s_check_id(c, item, "region", reg->id) != 0 ||
            s_check_name(c, item, "region", reg->id, reg->name) != 0)
            return -1;
        if (wz_policy_region(self, reg->id))
            return s_fail(c, s_line(item, "id"), "region id '%s' is listed twice", reg->id);
        /* Counted first so destroy frees whatever the region holds so far. */
        self->n_regions++;
        if (s_load_municipalities(c, self, reg, item) != 0)
            return -1;
    }
    return 0;
}

/* --- parties and keys ---------------------------------------------------------- */

typedef struct {
    char id[WZ_ID_MAX];
    char name[WZ_NAME_MAX];
    char role[32];
    char region[WZ_ID_MAX];
    char municipality[WZ_ID_MAX];
    char key[64];
} s_party_row_t;

static int s_role_parse(const char *text, wz_role_t *out)
{
    static const wz_role_t roles[] = {WZ_ROLE_CORPORATION, WZ_ROLE_CARE_PROVIDER,
                                      WZ_ROLE_MUNICIPALITY};
    for (size_t i = 0; i < COUNT(roles); i++) {
        if (strcmp(text, wz_role_name(roles[i])) == 0) {
            *out = roles[i];
            return 0;
        }
    }
    return -1;
}

static bool s_key_ok(const char *z85)
{
    uint8_t raw[32];
    return strlen(z85) == WZ_Z85_KEY_LEN && zmq_z85_decode(raw, z85) != NULL;
}

static bool s_exists(const char *dir, const char *name, const char *ext)
{
    char path[1024];
    int n = snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    return n > 0 && (size_t)n < sizeof path && access(path, F_OK) == 0;
}

/* Sets the party's public key from the file or from keys_dir. */
static int s_party_key(s_ctx_t *c, wz_party_t *p, const s_party_row_t *row, const wz_node_t *item,
                       const char *keys_dir, bool require_keys)
{
    if (*row->key) {
        if (!s_key_ok(row->key))
            return s_fail(c, s_line(item, "curve_public_key"),
                          "party '%s': curve_public_key must be 40 characters of Z85 (a CURVE "
                          "public key), got %zu characters%s",
                          p->id, strlen(row->key),
                          strlen(row->key) == 40 ? " that are not Z85" : "");
        wz_strlcpy(p->public_key, row->key, sizeof p->public_key);
        return 0;
    }
    if (keys_dir) {
        char key[WZ_Z85_KEY_LEN + 1] = "", kerr[512] = "";
        if (wz_keys_read_public(keys_dir, p->id, key, kerr, sizeof kerr) == 0) {
            if (!s_key_ok(key))
                return s_fail(c, s_line(item, "id"),
                              "party '%s': the key file in %s holds no valid CURVE public key",
                              p->id, keys_dir);
            wz_strlcpy(p->public_key, key, sizeof p->public_key);
            return 0;
        }
        /* A key file that exists but cannot be read is an error even when keys
         * are optional: it would otherwise silently lock the party out. */
        if (s_exists(keys_dir, p->id, ".pub") || s_exists(keys_dir, p->id, ".key"))
            return s_fail(c, s_line(item, "id"), "party '%s': %s", p->id, kerr);
    }
    if (require_keys)
        return s_fail(c, s_line(item, "id"),
                      "party '%s' has no CURVE public key: add curve_public_key or run `wzctl "
                      "keygen %s`",
                      p->id, p->id);
    return 0;
}

static int s_load_parties(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root,
                          const char *keys_dir, bool require_keys)
{
    static const wz_cfg_field_t fields[] = {
        {"id", WZ_CFG_STRING, FS(s_party_row_t, id), NULL, 0, 0},
        {"name", WZ_CFG_STRING, FS(s_party_row_t, name), NULL, 0, 0},
        {"role", WZ_CFG_STRING, FS(s_party_row_t, role), NULL, 0, 0},
        {"region", WZ_CFG_STRING, FS(s_party_row_t, region), NULL, 0, 0},
        {"municipality", WZ_CFG_STRING, FS(s_party_row_t, municipality), "", 0, 0},
        {"curve_public_key", WZ_CFG_STRING, FS(s_party_row_t, key), "", 0, 0},
    };
    const wz_node_t *list = s_list(c, root, "parties", "parties");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->parties = calloc(n, sizeof *self->parties);
    if (!self->parties)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        s_party_row_t row;
        memset(&row, 0, sizeof row);
        if (s_fill_item(c, item, "parties", fields, COUNT(fields), &row) != 0 ||
            s_check_id(c, item, "party", row.id) != 0 ||
            s_check_name(c, item, "party", row.id, row.name) != 0)
            return -1;
        for (size_t s = 0; s < COUNT(s_services); s++)
            if (strcmp(row.id, s_services[s]) == 0)
                return s_fail(c, s_line(item, "id"),
                              "party id '%s' is reserved: it is the name of a service", row.id);
        if (wz_policy_party(self, row.id))
            return s_fail(c, s_line(item, "id"), "party id '%s' is listed twice", row.id);
        wz_party_t *p = &self->parties[self->n_parties];
        memset(p, 0, sizeof *p);
        memcpy(p->id, row.id, sizeof p->id);
        memcpy(p->name, row.name, sizeof p->name);
        memcpy(p->region, row.region, sizeof p->region);
        memcpy(p->municipality, row.municipality, sizeof p->municipality);
        if (s_role_parse(row.role, &p->role) != 0)
            return s_fail(c, s_line(item, "role"),
                          "party '%s': unknown role '%s' (corporation, care_provider or "
                          "municipality)",
                          row.id, row.role);
        const wz_region_t *reg = wz_policy_region(self, row.region);
        if (!reg)
            return s_fail(c, s_line(item, "region"), "party '%s': unknown region '%s'", row.id,
                          row.region);
        if (p->role == WZ_ROLE_MUNICIPALITY) {
            if (!*row.municipality)
                return s_fail(c, s_line(item, "id"),
                              "party '%s' has role municipality but names no 'municipality'",
                              row.id);
            if (!wz_region_municipality(reg, row.municipality))
                return s_fail(c, s_line(item, "municipality"),
                              "party '%s': region '%s' has no municipality '%s'", row.id, reg->id,
                              row.municipality);
            const wz_party_t *other = wz_policy_municipality_party(self, reg->id, row.municipality);
            if (other)
                return s_fail(c, s_line(item, "municipality"),
                              "parties '%s' and '%s' both act for municipality '%s'", other->id,
                              row.id, row.municipality);
        } else if (*row.municipality) {
            return s_fail(c, s_line(item, "municipality"),
                          "party '%s': only a municipality party names a 'municipality'", row.id);
        }
        if (s_party_key(c, p, &row, item, keys_dir, require_keys) != 0)
            return -1;
        for (size_t j = 0; *p->public_key && j < self->n_parties; j++)
            if (strcmp(self->parties[j].public_key, p->public_key) == 0)
                return s_fail(c, s_line(item, "id"),
                              "parties '%s' and '%s' have the same CURVE public key",
                              self->parties[j].id, p->id);
        self->n_parties++;
    }
    return 0;
}

/* --- holidays, decline reasons, schemes ---------------------------------------- */

static int s_cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int s_load_holidays(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    const wz_node_t *list = wz_node_get(root, "holidays");
    if (!list || (wz_node_kind(list) == WZ_NODE_SCALAR && !*wz_node_text(list)))
        return 0;
    if (wz_node_kind(list) != WZ_NODE_SEQ)
        return s_fail(c, wz_node_line(list), "'holidays' must be a list of dates (YYYY-MM-DD)");
    size_t n = wz_node_count(list);
    self->holidays = calloc(n ? n : 1, sizeof *self->holidays);
    if (!self->holidays)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        int y, m, d;
        if (wz_node_date(c->doc, item, &y, &m, &d, c->err, c->errlen) != 0)
            return -1;
        int64_t dn = wz_day_from_civil(y, m, d);
        for (size_t j = 0; j < self->n_holidays; j++)
            if (self->holidays[j] == dn)
                return s_fail(c, wz_node_line(item), "holiday %s is listed twice",
                              wz_node_text(item));
        self->holidays[self->n_holidays++] = dn;
    }
    qsort(self->holidays, self->n_holidays, sizeof *self->holidays, s_cmp_i64);
    return 0;
}

static int s_load_decline_reasons(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    static const wz_cfg_field_t fields[] = {
        {"id", WZ_CFG_STRING, FS(wz_decline_reason_t, id), NULL, 0, 0},
        {"text", WZ_CFG_STRING, FS(wz_decline_reason_t, text), NULL, 0, 0},
        {"refusal", WZ_CFG_BOOL, FI(wz_decline_reason_t, refusal), NULL, 0, 0},
    };
    const wz_node_t *list = wz_node_get(root, "decline_reasons");
    if (!list)
        return 0;
    list = s_list(c, root, "decline_reasons", "decline reasons");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->decline_reasons = calloc(n, sizeof *self->decline_reasons);
    if (!self->decline_reasons)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        wz_decline_reason_t *r = &self->decline_reasons[self->n_decline_reasons];
        if (s_fill_item(c, item, "decline_reasons", fields, COUNT(fields), r) != 0 ||
            s_check_id(c, item, "decline reason", r->id) != 0)
            return -1;
        if (!*r->text)
            return s_fail(c, s_line(item, "text"), "decline reason '%s' has an empty text", r->id);
        if (wz_policy_decline_reason(self, r->id))
            return s_fail(c, s_line(item, "id"), "decline reason '%s' is listed twice", r->id);
        self->n_decline_reasons++;
    }
    return 0;
}

/* A list of ids under key of item into *out (allocated); each must satisfy
 * ok (when given). Empty or absent lists are refused when required. */
static int s_id_list(s_ctx_t *c, const wz_node_t *item, const char *key, const char *what,
                     bool required, char (**out)[WZ_ID_MAX], size_t *n_out)
{
    const wz_node_t *list = wz_node_get(item, key);
    if (!list || (wz_node_kind(list) == WZ_NODE_SCALAR && !*wz_node_text(list))) {
        if (required)
            return s_fail(c, wz_node_line(item), "missing required key '%s' (a list of %s)", key,
                          what);
        return 0;
    }
    if (wz_node_kind(list) != WZ_NODE_SEQ || (required && wz_node_count(list) == 0))
        return s_fail(c, wz_node_line(list), "'%s' must be a non-empty list of %s", key, what);
    size_t n = wz_node_count(list);
    *out = calloc(n ? n : 1, sizeof **out);
    if (!*out)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *e = wz_node_item(list, i);
        const char *text = wz_node_text(e);
        if (!text || !wz_id_valid(text, WZ_ID_MAX - 1))
            return s_fail(c, wz_node_line(e), "'%s': each entry must be one of %s (an id)", key,
                          what);
        for (size_t j = 0; j < *n_out; j++)
            if (strcmp((*out)[j], text) == 0)
                return s_fail(c, wz_node_line(e), "'%s': '%s' is listed twice", key, text);
        wz_strlcpy((*out)[(*n_out)++], text, WZ_ID_MAX);
    }
    return 0;
}

typedef struct {
    char id[WZ_ID_MAX];
    char name[WZ_NAME_MAX];
    char region[WZ_ID_MAX];
    char from[16], to[16];
    char mode[16];
    char unused[16];
    bool over_delivery;
    double weight_households, weight_stock;
    int spread_years, per_complex, per_stairwell, per_neighbourhood;
    int max_refusals;
    bool no_answer_is_refusal;
    int urgency_months, extension_months;
    bool confirm;
    int confirm_days;
    int reminder_days;
    double fit_room, fit_area, fit_km;
    int batch_minutes;
} s_scheme_row_t;

static int s_load_route(s_ctx_t *c, const wz_policy_t *self, wz_scheme_t *s,
                        const wz_node_t *item)
{
    typedef struct {
        char id[WZ_ID_MAX];
        char role[32];
        char action[16];
        int working_days;
    } row_t;
    static const wz_cfg_field_t fields[] = {
        {"step", WZ_CFG_STRING, FS(row_t, id), NULL, 0, 0},
        {"role", WZ_CFG_STRING, FS(row_t, role), NULL, 0, 0},
        {"action", WZ_CFG_STRING, FS(row_t, action), NULL, 0, 0},
        {"working_days", WZ_CFG_INT, FI(row_t, working_days), NULL, 1, 60},
    };
    (void)self;
    const wz_node_t *list = s_list(c, item, "route", "route steps");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    s->route = calloc(n, sizeof *s->route);
    if (!s->route)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *e = wz_node_item(list, i);
        row_t row;
        memset(&row, 0, sizeof row);
        if (s_fill_item(c, e, "route", fields, COUNT(fields), &row) != 0)
            return -1;
        wz_step_t *st = &s->route[s->n_route];
        if (!wz_id_valid(row.id, WZ_ID_MAX - 1))
            return s_fail(c, s_line(e, "step"), "route step '%s' is not a valid id", row.id);
        if (wz_scheme_step(s, row.id) >= 0)
            return s_fail(c, s_line(e, "step"), "scheme '%s': route step '%s' is listed twice",
                          s->id, row.id);
        wz_strlcpy(st->id, row.id, sizeof st->id);
        st->working_days = row.working_days;
        if (s_role_parse(row.role, &st->role) != 0)
            return s_fail(c, s_line(e, "role"),
                          "route step '%s': unknown role '%s' (corporation, care_provider or "
                          "municipality)",
                          row.id, row.role);
        if (strcmp(row.action, "answer") == 0)
            st->action = WZ_STEP_ANSWER;
        else if (strcmp(row.action, "confirm") == 0)
            st->action = WZ_STEP_CONFIRM;
        else if (strcmp(row.action, "sign") == 0)
            st->action = WZ_STEP_SIGN;
        else
            return s_fail(c, s_line(e, "action"),
                          "route step '%s': unknown action '%s' (answer, confirm or sign)", row.id,
                          row.action);
        /* The actions are tied to the requests that complete them, and
         * those to the roles allowed to send them. */
        if (st->action == WZ_STEP_ANSWER && st->role != WZ_ROLE_CARE_PROVIDER)
            return s_fail(c, s_line(e, "role"),
                          "route step '%s': only the care provider answers (action answer)",
                          row.id);
        if (st->action == WZ_STEP_SIGN && st->role != WZ_ROLE_CORPORATION)
            return s_fail(c, s_line(e, "role"),
                          "route step '%s': only the corporation signs the lease (action sign)",
                          row.id);
        if (i == 0 && st->action != WZ_STEP_ANSWER)
            return s_fail(c, s_line(e, "action"),
                          "scheme '%s': the route must start with the care provider's answer "
                          "(action answer)",
                          s->id);
        if (i > 0 && st->action == WZ_STEP_ANSWER)
            return s_fail(c, s_line(e, "action"),
                          "scheme '%s': only the first route step is the answer", s->id);
        if (st->action == WZ_STEP_SIGN && i != n - 1)
            return s_fail(c, s_line(e, "action"),
                          "scheme '%s': signing the lease must be the last route step", s->id);
        if (i == n - 1 && st->action != WZ_STEP_SIGN)
            return s_fail(c, s_line(e, "action"),
                          "scheme '%s': the route must end with the lease (action sign)", s->id);
        s->n_route++;
    }
    return 0;
}

static int s_load_scheme_municipalities(s_ctx_t *c, wz_scheme_t *s, const wz_region_t *reg,
                                        const wz_node_t *item)
{
    static const wz_cfg_field_t fields[] = {
        {"id", WZ_CFG_STRING, FS(wz_scheme_municipality_t, id), NULL, 0, 0},
        {"households", WZ_CFG_INT, FI(wz_scheme_municipality_t, households), NULL, 0, 10000000},
        {"stock", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
    };
    const wz_node_t *list = s_list(c, item, "municipalities", "municipalities with their key");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    s->municipalities = calloc(n, sizeof *s->municipalities);
    if (!s->municipalities)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *e = wz_node_item(list, i);
        wz_scheme_municipality_t *m = &s->municipalities[s->n_municipalities];
        if (s_fill_item(c, e, "municipalities", fields, COUNT(fields), m) != 0)
            return -1;
        s->n_municipalities++; /* counted first: destroy frees its stock */
        if (!wz_region_municipality(reg, m->id))
            return s_fail(c, s_line(e, "id"), "scheme '%s': region '%s' has no municipality '%s'",
                          s->id, reg->id, m->id);
        for (size_t j = 0; j + 1 < s->n_municipalities; j++)
            if (strcmp(s->municipalities[j].id, m->id) == 0)
                return s_fail(c, s_line(e, "id"), "scheme '%s': municipality '%s' is listed twice",
                              s->id, m->id);
        const wz_node_t *stock = wz_node_get(e, "stock");
        if (!stock || wz_node_kind(stock) != WZ_NODE_MAP)
            return s_fail(c, stock ? wz_node_line(stock) : wz_node_line(e),
                          "scheme '%s', municipality '%s': 'stock' must map corporation ids to "
                          "their social-rent dwellings there",
                          s->id, m->id);
        size_t k = wz_node_count(stock);
        m->stock = calloc(k ? k : 1, sizeof *m->stock);
        if (!m->stock)
            return s_fail(c, wz_node_line(stock), "out of memory");
        for (size_t j = 0; j < k; j++) {
            const char *corp = wz_node_key(stock, j);
            long long dwellings;
            if (!wz_scheme_has_corporation(s, corp))
                return s_fail(c, wz_node_key_line(stock, j),
                              "scheme '%s', municipality '%s': '%s' is not one of the scheme's "
                              "corporations",
                              s->id, m->id, corp);
            if (wz_node_int(c->doc, wz_node_value(stock, j), 0, 10000000, &dwellings, c->err,
                            c->errlen) != 0)
                return -1;
            wz_strlcpy(m->stock[m->n_stock].corporation, corp, WZ_ID_MAX);
            m->stock[m->n_stock].stock = (int)dwellings;
            m->n_stock++;
        }
    }
    return 0;
}

/* Splits total over n weights by largest remainder (ties: lower index), so
 * the parts add up to total exactly. */
static void s_apportion(int total, const double *weights, size_t n, int *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += weights[i];
    int given = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = sum > 0 ? (int)((double)total * weights[i] / sum) : 0;
        given += out[i];
    }
    while (sum > 0 && given < total) {
        size_t best = n;
        double best_rem = -1;
        for (size_t i = 0; i < n; i++) {
            double rem = (double)total * weights[i] / sum - out[i];
            if (rem > best_rem + 1e-12) {
                best = i;
                best_rem = rem;
            }
        }
        out[best]++;
        given++;
        /* A part that got its extra one must not get a second before the others. */
        if (best_rem < 0)
            break;
    }
}

static int s_compute_contingents(s_ctx_t *c, wz_scheme_t *s, const wz_node_t *item)
{
    size_t nm = s->n_municipalities;
    double hh_total = 0, stock_total = 0;
    double *stock_m = calloc(nm, sizeof *stock_m);
    double *w = calloc(nm, sizeof *w);
    int *mt = calloc(nm, sizeof *mt);
    size_t max_corp = 0, pairs = 0;
    int rc = -1;
    if (!stock_m || !w || !mt) {
        s_fail(c, wz_node_line(item), "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nm; i++) {
        hh_total += s->municipalities[i].households;
        for (size_t j = 0; j < s->municipalities[i].n_stock; j++)
            stock_m[i] += s->municipalities[i].stock[j].stock;
        stock_total += stock_m[i];
        if (s->municipalities[i].n_stock > max_corp)
            max_corp = s->municipalities[i].n_stock;
        pairs += s->municipalities[i].n_stock;
        if (stock_m[i] <= 0) {
            s_fail(c, wz_node_line(wz_node_item(wz_node_get(item, "municipalities"), i)),
                   "scheme '%s': municipality '%s' has no social-rent stock of any corporation, "
                   "so its contingent could never be used",
                   s->id, s->municipalities[i].id);
            goto out;
        }
    }
    if (s->weight_households > 0 && hh_total <= 0) {
        s_fail(c, s_line(item, "municipalities"),
               "scheme '%s': the distribution key weighs households but none are given", s->id);
        goto out;
    }
    for (size_t i = 0; i < nm; i++)
        w[i] = (hh_total > 0 ? s->weight_households * s->municipalities[i].households / hh_total
                             : 0) +
               s->weight_stock * stock_m[i] / stock_total;
    s->contingents = calloc(pairs * (s->n_caps ? s->n_caps : 1), sizeof *s->contingents);
    double *cw = calloc(max_corp ? max_corp : 1, sizeof *cw);
    int *ct = calloc(max_corp ? max_corp : 1, sizeof *ct);
    if (!s->contingents || !cw || !ct) {
        free(cw);
        free(ct);
        s_fail(c, wz_node_line(item), "out of memory");
        goto out;
    }
    for (size_t y = 0; y < s->n_caps; y++) {
        s_apportion(s->caps[y].dwellings, w, nm, mt);
        for (size_t i = 0; i < nm; i++) {
            const wz_scheme_municipality_t *m = &s->municipalities[i];
            for (size_t j = 0; j < m->n_stock; j++)
                cw[j] = m->stock[j].stock;
            s_apportion(mt[i], cw, m->n_stock, ct);
            for (size_t j = 0; j < m->n_stock; j++) {
                wz_contingent_t *ct_row = &s->contingents[s->n_contingents++];
                wz_strlcpy(ct_row->municipality, m->id, WZ_ID_MAX);
                wz_strlcpy(ct_row->corporation, m->stock[j].corporation, WZ_ID_MAX);
                ct_row->year = s->caps[y].year;
                ct_row->target = ct[j];
            }
        }
    }
    free(cw);
    free(ct);
    rc = 0;
out:
    free(stock_m);
    free(w);
    free(mt);
    return rc;
}

static int s_load_caps(s_ctx_t *c, wz_scheme_t *s, const wz_node_t *item)
{
    static const wz_cfg_field_t fields[] = {
        {"year", WZ_CFG_INT, FI(wz_cap_t, year), NULL, 1900, 2199},
        {"dwellings", WZ_CFG_INT, FI(wz_cap_t, dwellings), NULL, 0, 100000},
    };
    const wz_node_t *list = s_list(c, item, "caps", "yearly caps ({year, dwellings})");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    s->caps = calloc(n, sizeof *s->caps);
    if (!s->caps)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *e = wz_node_item(list, i);
        wz_cap_t *cap = &s->caps[s->n_caps];
        if (s_fill_item(c, e, "caps", fields, COUNT(fields), cap) != 0)
            return -1;
        if (i > 0 && cap->year <= cap[-1].year)
            return s_fail(c, s_line(e, "year"),
                          "scheme '%s': cap year %d must come after %d (one per year, in order)",
                          s->id, cap->year, cap[-1].year);
        s->n_caps++;
    }
    return 0;
}

static int s_load_scheme(s_ctx_t *c, wz_policy_t *self, wz_scheme_t *s, const wz_node_t *item)
{
    static const wz_cfg_field_t fields[] = {
        {"id", WZ_CFG_STRING, FS(s_scheme_row_t, id), NULL, 0, 0},
        {"name", WZ_CFG_STRING, FS(s_scheme_row_t, name), NULL, 0, 0},
        {"region", WZ_CFG_STRING, FS(s_scheme_row_t, region), NULL, 0, 0},
        {"period.from", WZ_CFG_STRING, FS(s_scheme_row_t, from), NULL, 0, 0},
        {"period.to", WZ_CFG_STRING, FS(s_scheme_row_t, to), NULL, 0, 0},
        {"mode", WZ_CFG_STRING, FS(s_scheme_row_t, mode), "ranked", 0, 0},
        {"groups", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"corporations", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"care_providers", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"caps", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"distribution.households", WZ_CFG_DOUBLE, FI(s_scheme_row_t, weight_households), "0.5",
         0, 1},
        {"distribution.social_rent_stock", WZ_CFG_DOUBLE, FI(s_scheme_row_t, weight_stock), "0.5",
         0, 1},
        {"municipalities", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"over_delivery", WZ_CFG_BOOL, FI(s_scheme_row_t, over_delivery), "false", 0, 0},
        {"unused_at_year_end", WZ_CFG_STRING, FS(s_scheme_row_t, unused), "lapse", 0, 0},
        {"spread.years", WZ_CFG_INT, FI(s_scheme_row_t, spread_years), "5", 1, 50},
        {"spread.per_complex", WZ_CFG_INT, FI(s_scheme_row_t, per_complex), "0", 0, 1000},
        {"spread.per_stairwell", WZ_CFG_INT, FI(s_scheme_row_t, per_stairwell), "0", 0, 1000},
        {"spread.per_neighbourhood", WZ_CFG_INT, FI(s_scheme_row_t, per_neighbourhood), "0", 0,
         100000},
        {"refusals.max", WZ_CFG_INT, FI(s_scheme_row_t, max_refusals), "0", 0, 20},
        {"refusals.no_answer_counts", WZ_CFG_BOOL, FI(s_scheme_row_t, no_answer_is_refusal),
         "true", 0, 0},
        {"refusals.municipality_confirms", WZ_CFG_BOOL, FI(s_scheme_row_t, confirm), "false", 0,
         0},
        {"refusals.confirm_working_days", WZ_CFG_INT, FI(s_scheme_row_t, confirm_days), "5", 1,
         60},
        {"urgency.months", WZ_CFG_INT, FI(s_scheme_row_t, urgency_months), "0", 0, 60},
        {"urgency.extension_months", WZ_CFG_INT, FI(s_scheme_row_t, extension_months), "0", 0,
         60},
        {"route", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"reminder_working_days", WZ_CFG_INT, FI(s_scheme_row_t, reminder_days), "1", 0, 30},
        {"fit.per_surplus_room", WZ_CFG_DOUBLE, FI(s_scheme_row_t, fit_room), "10", 0, 1000},
        {"fit.per_surplus_m2", WZ_CFG_DOUBLE, FI(s_scheme_row_t, fit_area), "0.5", 0, 1000},
        {"fit.per_km", WZ_CFG_DOUBLE, FI(s_scheme_row_t, fit_km), "1", 0, 1000},
        {"batch_minutes", WZ_CFG_INT, FI(s_scheme_row_t, batch_minutes), "0", 0, 10080},
    };
    s_scheme_row_t row;
    memset(&row, 0, sizeof row);
    if (s_fill_item(c, item, "schemes", fields, COUNT(fields), &row) != 0 ||
        s_check_id(c, item, "scheme", row.id) != 0 ||
        s_check_name(c, item, "scheme", row.id, row.name) != 0)
        return -1;
    if (wz_policy_scheme(self, row.id))
        return s_fail(c, s_line(item, "id"), "scheme id '%s' is listed twice", row.id);
    wz_strlcpy(s->id, row.id, sizeof s->id);
    wz_strlcpy(s->name, row.name, sizeof s->name);
    wz_strlcpy(s->region, row.region, sizeof s->region);
    const wz_region_t *reg = wz_policy_region(self, row.region);
    if (!reg)
        return s_fail(c, s_line(item, "region"), "scheme '%s': unknown region '%s'", s->id,
                      row.region);
    WzDate from = WOONZORG__V1__DATE__INIT, to = WOONZORG__V1__DATE__INIT;
    const wz_node_t *period = wz_node_get(item, "period");
    if (wz_date_parse(row.from, &from) != 0)
        return s_fail(c, s_line(period, "from"), "scheme '%s': period.from '%s' is not a date "
                      "(YYYY-MM-DD)", s->id, row.from);
    if (wz_date_parse(row.to, &to) != 0)
        return s_fail(c, s_line(period, "to"), "scheme '%s': period.to '%s' is not a date "
                      "(YYYY-MM-DD)", s->id, row.to);
    s->from_day = wz_day_from_civil(from.year, from.month, from.day);
    s->to_day = wz_day_from_civil(to.year, to.month, to.day);
    if (s->to_day < s->from_day)
        return s_fail(c, s_line(period, "to"), "scheme '%s': the period ends before it starts",
                      s->id);
    if (strcmp(row.mode, "ranked") == 0)
        s->mode = WZ_MODE_RANKED;
    else if (strcmp(row.mode, "nominate") == 0)
        s->mode = WZ_MODE_NOMINATE;
    else
        return s_fail(c, s_line(item, "mode"), "scheme '%s': unknown mode '%s' (ranked or "
                      "nominate)", s->id, row.mode);
    if (strcmp(row.unused, "lapse") == 0)
        s->unused = WZ_UNUSED_LAPSE;
    else if (strcmp(row.unused, "release") == 0)
        s->unused = WZ_UNUSED_RELEASE;
    else
        return s_fail(c, s_line(item, "unused_at_year_end"),
                      "scheme '%s': unused_at_year_end must be lapse or release, not '%s'", s->id,
                      row.unused);
    if (row.weight_households + row.weight_stock < 0.999 ||
        row.weight_households + row.weight_stock > 1.001)
        return s_fail(c, s_line(item, "distribution"),
                      "scheme '%s': distribution weights must add up to 1 (got %.3f)", s->id,
                      row.weight_households + row.weight_stock);
    s->weight_households = row.weight_households;
    s->weight_stock = row.weight_stock;
    s->over_delivery = row.over_delivery;
    s->spread_years = row.spread_years;
    s->max_per_complex = row.per_complex;
    s->max_per_stairwell = row.per_stairwell;
    s->max_per_neighbourhood = row.per_neighbourhood;
    s->max_refusals = row.max_refusals;
    s->no_answer_is_refusal = row.no_answer_is_refusal;
    s->decline_needs_confirmation = row.confirm;
    s->confirm_working_days = row.confirm_days;
    s->urgency_months = row.urgency_months;
    s->extension_months = row.extension_months;
    s->reminder_working_days = row.reminder_days;
    s->fit_room = row.fit_room;
    s->fit_area = row.fit_area;
    s->fit_km = row.fit_km;
    s->batch_minutes = row.batch_minutes;
    if (s->batch_minutes > 0 && s->mode == WZ_MODE_NOMINATE)
        return s_fail(c, s_line(item, "batch_minutes"),
                      "scheme '%s': batch assignment needs mode ranked (a nominate scheme waits "
                      "for its care providers)",
                      s->id);
    if (s->extension_months > 0 && s->urgency_months == 0)
        return s_fail(c, s_line(item, "urgency"),
                      "scheme '%s': an urgency extension needs an urgency window (urgency.months)",
                      s->id);

    if (s_id_list(c, item, "groups", "target groups", true, &s->groups, &s->n_groups) != 0 ||
        s_id_list(c, item, "corporations", "corporation parties", true, &s->corporations,
                  &s->n_corporations) != 0 ||
        s_id_list(c, item, "care_providers", "care provider parties", true, &s->care_providers,
                  &s->n_care_providers) != 0)
        return -1;
    for (size_t i = 0; i < s->n_groups; i++)
        if (!wz_policy_has_group(self, s->groups[i]))
            return s_fail(c, s_line(item, "groups"), "scheme '%s': unknown group '%s'", s->id,
                          s->groups[i]);
    if (s_load_caps(c, s, item) != 0 || s_load_scheme_municipalities(c, s, reg, item) != 0 ||
        s_load_route(c, self, s, item) != 0 || s_compute_contingents(c, s, item) != 0)
        return -1;
    return 0;
}

/* Party references of schemes resolve only after the parties are loaded. */
static int s_check_scheme_parties(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    const wz_node_t *list = wz_node_get(root, "schemes");
    for (size_t i = 0; i < self->n_schemes; i++) {
        const wz_scheme_t *s = &self->schemes[i];
        const wz_node_t *item = wz_node_item(list, i);
        for (size_t j = 0; j < s->n_corporations; j++) {
            const wz_party_t *p = wz_policy_party(self, s->corporations[j]);
            if (!p || p->role != WZ_ROLE_CORPORATION || strcmp(p->region, s->region) != 0)
                return s_fail(c, s_line(item, "corporations"),
                              "scheme '%s': '%s' is not a corporation of region '%s'", s->id,
                              s->corporations[j], s->region);
        }
        for (size_t j = 0; j < s->n_care_providers; j++) {
            const wz_party_t *p = wz_policy_party(self, s->care_providers[j]);
            if (!p || p->role != WZ_ROLE_CARE_PROVIDER || strcmp(p->region, s->region) != 0)
                return s_fail(c, s_line(item, "care_providers"),
                              "scheme '%s': '%s' is not a care provider of region '%s'", s->id,
                              s->care_providers[j], s->region);
        }
    }
    return 0;
}

static int s_load_schemes(s_ctx_t *c, wz_policy_t *self, const wz_node_t *root)
{
    const wz_node_t *list = wz_node_get(root, "schemes");
    if (!list)
        return 0;
    list = s_list(c, root, "schemes", "schemes");
    if (!list)
        return -1;
    size_t n = wz_node_count(list);
    self->schemes = calloc(n, sizeof *self->schemes);
    if (!self->schemes)
        return s_fail(c, wz_node_line(list), "out of memory");
    for (size_t i = 0; i < n; i++) {
        const wz_node_t *item = wz_node_item(list, i);
        if (wz_node_kind(item) != WZ_NODE_MAP)
            return s_fail(c, wz_node_line(item), "each entry of 'schemes' must be a map");
        /* Counted first so destroy frees whatever it holds so far. */
        wz_scheme_t *s = &self->schemes[self->n_schemes++];
        if (s_load_scheme(c, self, s, item) != 0) {
            s->id[0] = '\0'; /* a half-loaded scheme is not found by lookups */
            return -1;
        }
    }
    return 0;
}

static void s_scheme_free(wz_scheme_t *s)
{
    free(s->groups);
    free(s->corporations);
    free(s->care_providers);
    free(s->caps);
    for (size_t i = 0; i < s->n_municipalities; i++)
        free(s->municipalities[i].stock);
    free(s->municipalities);
    free(s->contingents);
    free(s->route);
}

/* --- load ------------------------------------------------------------------------ */

wz_policy_t *wz_policy_load(const char *path, const char *keys_dir, bool require_keys, char *err,
                            size_t errlen)
{
    static const wz_cfg_field_t fields[] = {
        {"version", WZ_CFG_STRING, FS(wz_policy_t, version), NULL, 0, 0},
        {"groups", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"rent_limits", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"occupancy", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"regions", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"parties", WZ_CFG_NODE, 0, 0, NULL, 0, 0},
        {"holidays", WZ_CFG_NODE, 0, 0, "", 0, 0},
        {"decline_reasons", WZ_CFG_NODE, 0, 0, "", 0, 0},
        {"schemes", WZ_CFG_NODE, 0, 0, "", 0, 0},
    };
    wz_doc_t *doc = wz_doc_load(path, err, errlen);
    if (!doc)
        return NULL;
    s_ctx_t c = {doc, err, errlen};
    wz_policy_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_fail(&c, 0, "out of memory");
        goto out;
    }
    const wz_node_t *root = wz_doc_root(doc);
    if (wz_config_fill(doc, root, fields, COUNT(fields), self, NULL, err, errlen) != 0)
        goto fail;
    if (!*self->version) {
        s_fail(&c, s_line(root, "version"), "version must not be empty");
        goto fail;
    }
    if (s_load_groups(&c, self, root) != 0 || s_load_rent_limits(&c, self, root) != 0 ||
        s_load_occupancy(&c, self, root) != 0 || s_load_regions(&c, self, root) != 0 ||
        s_load_parties(&c, self, root, keys_dir, require_keys) != 0 ||
        s_load_holidays(&c, self, root) != 0 || s_load_decline_reasons(&c, self, root) != 0 ||
        s_load_schemes(&c, self, root) != 0 || s_check_scheme_parties(&c, self, root) != 0)
        goto fail;
    goto out;
fail:
    wz_policy_destroy(&self);
out:
    wz_doc_destroy(&doc);
    return self;
}

void wz_policy_destroy(wz_policy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wz_policy_t *self = *self_p;
    for (size_t r = 0; r < self->n_regions; r++) {
        wz_region_t *reg = &self->regions[r];
        for (size_t m = 0; m < reg->n_municipalities; m++)
            free(reg->municipalities[m].neighbourhoods);
        free(reg->municipalities);
    }
    free(self->regions);
    free(self->parties);
    free(self->groups);
    free(self->rent_limits);
    free(self->occupancy);
    free(self->holidays);
    free(self->decline_reasons);
    for (size_t i = 0; i < self->n_schemes; i++)
        s_scheme_free(&self->schemes[i]);
    free(self->schemes);
    free(self);
    *self_p = NULL;
}

/* --- lookups ------------------------------------------------------------------------ */

const wz_party_t *wz_policy_party(const wz_policy_t *self, const char *id)
{
    for (size_t i = 0; id && i < self->n_parties; i++)
        if (strcmp(self->parties[i].id, id) == 0)
            return &self->parties[i];
    return NULL;
}

const wz_party_t *wz_policy_party_by_key(const wz_policy_t *self, const char *public_z85)
{
    if (!public_z85 || !*public_z85)
        return NULL;
    for (size_t i = 0; i < self->n_parties; i++)
        if (strcmp(self->parties[i].public_key, public_z85) == 0)
            return &self->parties[i];
    return NULL;
}

const wz_region_t *wz_policy_region(const wz_policy_t *self, const char *id)
{
    for (size_t i = 0; id && i < self->n_regions; i++)
        if (strcmp(self->regions[i].id, id) == 0)
            return &self->regions[i];
    return NULL;
}

const wz_municipality_t *wz_region_municipality(const wz_region_t *region, const char *id)
{
    for (size_t i = 0; region && id && i < region->n_municipalities; i++)
        if (strcmp(region->municipalities[i].id, id) == 0)
            return &region->municipalities[i];
    return NULL;
}

const wz_neighbourhood_t *wz_municipality_neighbourhood(const wz_municipality_t *m,
                                                        const char *code)
{
    for (size_t i = 0; m && code && i < m->n_neighbourhoods; i++)
        if (strcmp(m->neighbourhoods[i].code, code) == 0)
            return &m->neighbourhoods[i];
    return NULL;
}

bool wz_policy_has_group(const wz_policy_t *self, const char *group)
{
    for (size_t i = 0; group && i < self->n_groups; i++)
        if (strcmp(self->groups[i], group) == 0)
            return true;
    return false;
}

const wz_party_t *wz_policy_municipality_party(const wz_policy_t *self, const char *region,
                                               const char *municipality)
{
    for (size_t i = 0; region && municipality && i < self->n_parties; i++) {
        const wz_party_t *p = &self->parties[i];
        if (p->role == WZ_ROLE_MUNICIPALITY && strcmp(p->region, region) == 0 &&
            strcmp(p->municipality, municipality) == 0)
            return p;
    }
    return NULL;
}

const wz_rent_limits_t *wz_policy_rent_limits(const wz_policy_t *self, int year)
{
    const wz_rent_limits_t *found = NULL;
    for (size_t i = 0; i < self->n_rent_limits && self->rent_limits[i].year <= year; i++)
        found = &self->rent_limits[i];
    return found;
}

const wz_occupancy_t *wz_policy_occupancy(const wz_policy_t *self, int persons)
{
    if (self->n_occupancy == 0)
        return NULL;
    const wz_occupancy_t *found = &self->occupancy[0];
    for (size_t i = 1; i < self->n_occupancy && self->occupancy[i].persons <= persons; i++)
        found = &self->occupancy[i];
    return found;
}

int64_t wz_policy_deadline(const wz_policy_t *self, const wz_region_t *region, int working_days,
                           int64_t now_ms)
{
    if (region->answer_seconds > 0)
        return now_ms + (int64_t)region->answer_seconds * 1000;
    int64_t day = wz_add_working_days(wz_day_of_ms(now_ms), working_days, self->holidays,
                                      self->n_holidays);
    return wz_day_end_ms(day);
}

int64_t wz_policy_answer_deadline(const wz_policy_t *self, const wz_region_t *region,
                                  int64_t now_ms)
{
    return wz_policy_deadline(self, region, region->answer_working_days, now_ms);
}

const wz_scheme_t *wz_policy_scheme(const wz_policy_t *self, const char *id)
{
    for (size_t i = 0; id && *id && i < self->n_schemes; i++)
        if (strcmp(self->schemes[i].id, id) == 0)
            return &self->schemes[i];
    return NULL;
}

const wz_scheme_t *wz_policy_default_scheme(const wz_policy_t *self, const char *region,
                                            const char *corporation, int64_t dn)
{
    for (size_t i = 0; region && i < self->n_schemes; i++) {
        const wz_scheme_t *s = &self->schemes[i];
        if (strcmp(s->region, region) == 0 && dn >= s->from_day && dn <= s->to_day &&
            wz_scheme_has_corporation(s, corporation))
            return s;
    }
    return NULL;
}

static bool s_in_ids(char (*list)[WZ_ID_MAX], size_t n, const char *id)
{
    for (size_t i = 0; id && i < n; i++)
        if (strcmp(list[i], id) == 0)
            return true;
    return false;
}

const wz_scheme_t *wz_policy_candidate_scheme(const wz_policy_t *self, const char *region,
                                              const char *group, const char *care_provider,
                                              int64_t dn)
{
    for (size_t i = 0; region && i < self->n_schemes; i++) {
        const wz_scheme_t *s = &self->schemes[i];
        if (strcmp(s->region, region) == 0 && dn >= s->from_day && dn <= s->to_day &&
            s_in_ids(s->groups, s->n_groups, group) &&
            s_in_ids(s->care_providers, s->n_care_providers, care_provider))
            return s;
    }
    return NULL;
}

bool wz_scheme_has_group(const wz_scheme_t *s, const char *group)
{
    return s_in_ids(s->groups, s->n_groups, group);
}

bool wz_scheme_has_corporation(const wz_scheme_t *s, const char *corporation)
{
    return s_in_ids(s->corporations, s->n_corporations, corporation);
}

bool wz_scheme_has_care_provider(const wz_scheme_t *s, const char *care_provider)
{
    return s_in_ids(s->care_providers, s->n_care_providers, care_provider);
}

int wz_scheme_contingent(const wz_scheme_t *s, const char *municipality, const char *corporation,
                         int year)
{
    for (size_t i = 0; municipality && corporation && i < s->n_contingents; i++) {
        const wz_contingent_t *ct = &s->contingents[i];
        if (ct->year == year && strcmp(ct->municipality, municipality) == 0 &&
            strcmp(ct->corporation, corporation) == 0)
            return ct->target;
    }
    return -1;
}

int wz_scheme_step(const wz_scheme_t *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_route; i++)
        if (strcmp(s->route[i].id, id) == 0)
            return (int)i;
    return -1;
}

const wz_decline_reason_t *wz_policy_decline_reason(const wz_policy_t *self, const char *id)
{
    for (size_t i = 0; id && i < self->n_decline_reasons; i++)
        if (strcmp(self->decline_reasons[i].id, id) == 0)
            return &self->decline_reasons[i];
    return NULL;
}

const char *wz_step_action_name(wz_step_action_t a)
{
    switch (a) {
    case WZ_STEP_ANSWER:
        return "answer";
    case WZ_STEP_CONFIRM:
        return "confirm";
    case WZ_STEP_SIGN:
        return "sign";
    }
    return "unknown";
}

const char *wz_role_name(wz_role_t role)
{
    switch (role) {
    case WZ_ROLE_CORPORATION:
        return "corporation";
    case WZ_ROLE_CARE_PROVIDER:
        return "care_provider";
    case WZ_ROLE_MUNICIPALITY:
        return "municipality";
    }
    return "unknown";
}
