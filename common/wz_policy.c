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

#include "wz_config.h"
#include "wz_keys.h"
#include "wz_util.h"

#define FS(type, field) offsetof(type, field), sizeof(((type *)0)->field)
#define FI(type, field) offsetof(type, field), 0
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_RENT_CENTS 500000 /* EUR 5,000 a month: anything above is a typo */
#define MAX_ANSWER_SECONDS (30 * 86400)
#define MS_PER_DAY 86400000LL

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
        s_load_parties(&c, self, root, keys_dir, require_keys) != 0)
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

int64_t wz_policy_answer_deadline(const wz_region_t *region, int64_t now_ms)
{
    if (region->answer_seconds > 0)
        return now_ms + (int64_t)region->answer_seconds * 1000;
    /* Days since 1970-01-01 (a Thursday), rounded down also before 1970. */
    int64_t day = now_ms / MS_PER_DAY;
    if (now_ms % MS_PER_DAY < 0)
        day--;
    for (int left = region->answer_working_days; left > 0;) {
        day++;
        int64_t weekday = ((day + 4) % 7 + 7) % 7; /* 0 = Sunday, 6 = Saturday */
        if (weekday != 0 && weekday != 6)
            left--;
    }
    return day * MS_PER_DAY + MS_PER_DAY - 1000;
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
