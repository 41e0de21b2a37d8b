/* wz_policy.h - config/policy.yaml: regions, municipalities, neighbourhoods,
 * parties with their CURVE keys, and the matching rules. Immutable once
 * loaded; a reload builds a whole new policy. */
#ifndef WZ_POLICY_H_INCLUDED
#define WZ_POLICY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wz_proto.h"

#define WZ_ID_MAX 48
#define WZ_NAME_MAX 96
#define WZ_Z85_KEY_LEN 40

typedef enum {
    WZ_ROLE_CORPORATION = WOONZORG__V1__ROLE__ROLE_CORPORATION,
    WZ_ROLE_CARE_PROVIDER = WOONZORG__V1__ROLE__ROLE_CARE_PROVIDER,
    WZ_ROLE_MUNICIPALITY = WOONZORG__V1__ROLE__ROLE_MUNICIPALITY,
} wz_role_t;

typedef struct {
    char code[16];              /* CBS buurt code, e.g. BU03920101 */
    char name[WZ_NAME_MAX];
    double lat, lon;            /* centroid */
} wz_neighbourhood_t;

typedef struct {
    char id[WZ_ID_MAX];         /* e.g. "haarlem" */
    char name[WZ_NAME_MAX];
    char cbs[8];                /* CBS gemeente code, e.g. GM0392 */
    wz_neighbourhood_t *neighbourhoods;
    size_t n_neighbourhoods;
} wz_municipality_t;

typedef struct {
    char id[WZ_ID_MAX];         /* e.g. "zkij"; the Redis hash tag */
    char name[WZ_NAME_MAX];
    int answer_working_days;    /* care provider's answer time */
    int answer_seconds;         /* if > 0, replaces working days (demo and tests) */
    wz_municipality_t *municipalities;
    size_t n_municipalities;
} wz_region_t;

typedef struct {
    char id[WZ_ID_MAX];         /* e.g. "pre-wonen", "ribw-kam", "gem-haarlem" */
    char name[WZ_NAME_MAX];
    wz_role_t role;
    char region[WZ_ID_MAX];
    char municipality[WZ_ID_MAX]; /* municipalities: the one they act for */
    char public_key[WZ_Z85_KEY_LEN + 1]; /* CURVE public key, Z85 */
} wz_party_t;

/* Passend toewijzen for one year, amounts in euro cents. */
typedef struct {
    int year;
    int64_t max_rent_1_2;       /* households of 1-2 persons below the income limit */
    int64_t max_rent_3_plus;    /* 3 or more persons below the income limit */
    int64_t max_rent_under_23;  /* under 23 */
    int64_t social_rent_limit;  /* everyone else */
} wz_rent_limits_t;

/* Smallest dwelling for a household of `persons` (the last row covers more). */
typedef struct {
    int persons;
    int min_rooms;
    int min_area_m2;
} wz_occupancy_t;

typedef struct {
    char version[32];
    wz_region_t *regions;
    size_t n_regions;
    wz_party_t *parties;
    size_t n_parties;
    char (*groups)[WZ_ID_MAX];  /* eligible target groups */
    size_t n_groups;
    wz_rent_limits_t *rent_limits; /* sorted by year */
    size_t n_rent_limits;
    wz_occupancy_t *occupancy;     /* sorted by persons */
    size_t n_occupancy;
} wz_policy_t;

/* Loads a policy. A party's public key is its `curve_public_key` in the file,
 * else read from <keys_dir>/<party id>.pub (keys_dir may be NULL to skip keys:
 * then every party must have an inline key or it is left empty).
 * Returns NULL with "file:line: reason" in err. */
wz_policy_t *wz_policy_load(const char *path, const char *keys_dir, bool require_keys, char *err,
                            size_t errlen);
void wz_policy_destroy(wz_policy_t **self_p);

/* Lookups; NULL when absent. All pointers are borrowed from the policy. */
const wz_party_t *wz_policy_party(const wz_policy_t *self, const char *id);
const wz_party_t *wz_policy_party_by_key(const wz_policy_t *self, const char *public_z85);
const wz_region_t *wz_policy_region(const wz_policy_t *self, const char *id);
const wz_municipality_t *wz_region_municipality(const wz_region_t *region, const char *id);
const wz_neighbourhood_t *wz_municipality_neighbourhood(const wz_municipality_t *m,
                                                        const char *code);
bool wz_policy_has_group(const wz_policy_t *self, const char *group);
/* The municipality party of a municipality id in a region; NULL if none. */
const wz_party_t *wz_policy_municipality_party(const wz_policy_t *self, const char *region,
                                               const char *municipality);
/* Rent limits in force in `year` (the latest row not after it); NULL if none. */
const wz_rent_limits_t *wz_policy_rent_limits(const wz_policy_t *self, int year);
/* Minimum rooms and area for a household size; NULL if the table is empty. */
const wz_occupancy_t *wz_policy_occupancy(const wz_policy_t *self, int persons);
/* Deadline for an answer to a proposal made at now_ms (unix ms, UTC):
 * answer_seconds if set, else answer_working_days skipping Saturdays and
 * Sundays, ending at 23:59:59 of the last working day. */
int64_t wz_policy_answer_deadline(const wz_region_t *region, int64_t now_ms);

const char *wz_role_name(wz_role_t role);  /* "corporation", "care_provider", "municipality" */

#endif
