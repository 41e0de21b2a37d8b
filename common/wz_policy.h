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

/* One step of a scheme's route: who must act, what completes the step, and
 * how many working days they have. */
typedef enum {
    WZ_STEP_ANSWER,  /* the care provider accepts or declines (Answer) */
    WZ_STEP_CONFIRM, /* the role confirms or turns it down (ConfirmStep), e.g. after a viewing */
    WZ_STEP_SIGN,    /* the corporation signs the lease (SignLease) */
} wz_step_action_t;

typedef struct {
    char id[WZ_ID_MAX];   /* e.g. "answer", "viewing", "lease" */
    wz_role_t role;
    wz_step_action_t action;
    int working_days;
} wz_step_t;

typedef enum { WZ_MODE_RANKED, WZ_MODE_NOMINATE } wz_offer_mode_t;
typedef enum { WZ_UNUSED_LAPSE, WZ_UNUSED_RELEASE } wz_unused_t;

/* Annual cap of a scheme for its region. */
typedef struct {
    int year;
    int dwellings;
} wz_cap_t;

/* A corporation's social-rent stock in one municipality (distribution key). */
typedef struct {
    char corporation[WZ_ID_MAX];
    int stock;
} wz_stock_t;

typedef struct {
    char id[WZ_ID_MAX];   /* municipality id of the scheme's region */
    int households;
    wz_stock_t *stock;
    size_t n_stock;
} wz_scheme_municipality_t;

/* Target of one scheme x municipality x corporation x year, computed at load
 * from the cap and the distribution key (largest remainder, so the targets of
 * a year add up to the cap exactly). */
typedef struct {
    char municipality[WZ_ID_MAX];
    char corporation[WZ_ID_MAX];
    int year;
    int target;
} wz_contingent_t;

typedef struct {
    char id[WZ_ID_MAX];          /* e.g. "zkij-uitstroom" */
    char name[WZ_NAME_MAX];
    char region[WZ_ID_MAX];
    int64_t from_day, to_day;    /* period, day numbers (wz_calendar), inclusive */
    wz_offer_mode_t mode;
    char (*groups)[WZ_ID_MAX];   /* eligible target groups */
    size_t n_groups;
    char (*corporations)[WZ_ID_MAX]; /* parties offering dwellings */
    size_t n_corporations;
    char (*care_providers)[WZ_ID_MAX]; /* parties nominating; also the rotation order */
    size_t n_care_providers;
    wz_cap_t *caps;
    size_t n_caps;
    double weight_households, weight_stock; /* distribution key, summing to 1 */
    wz_scheme_municipality_t *municipalities;
    size_t n_municipalities;
    wz_contingent_t *contingents;
    size_t n_contingents;
    bool over_delivery;          /* may a corporation offer beyond its contingent */
    wz_unused_t unused;          /* unused places at year end */
    int spread_years;            /* placements counted from lets of the last N years */
    int max_per_complex, max_per_stairwell, max_per_neighbourhood; /* 0: no limit */
    int max_refusals;            /* refusals after which urgency lapses; 0: no limit */
    bool no_answer_is_refusal;
    int urgency_months;          /* urgency window; 0: none */
    int extension_months;        /* one extension; 0: none */
    wz_step_t *route;
    size_t n_route;
    bool decline_needs_confirmation; /* the municipality confirms a refusal before it counts */
    int confirm_working_days;
    int reminder_working_days;   /* reminder this many working days before a deadline */
    /* Fit score: penalty points (lower is better) per surplus room, per
     * surplus m2 and per km from the care location. */
    double fit_room, fit_area, fit_km;
    int batch_minutes;           /* > 0: a corporation's vacancies published within this
                                    many minutes are assigned jointly (ranked mode) */
} wz_scheme_t;

/* A configured decline reason and its consequence. */
typedef struct {
    char id[WZ_ID_MAX];
    char text[WZ_NAME_MAX];
    bool refusal;                /* counts as a refusal by the candidate */
} wz_decline_reason_t;

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
    int64_t *holidays;             /* day numbers, sorted */
    size_t n_holidays;
    wz_decline_reason_t *decline_reasons;
    size_t n_decline_reasons;
    wz_scheme_t *schemes;
    size_t n_schemes;
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
 * answer_seconds if set, else answer_working_days skipping Saturdays,
 * Sundays and the policy's holidays, ending at 23:59:59 of the last working
 * day. */
int64_t wz_policy_answer_deadline(const wz_policy_t *self, const wz_region_t *region,
                                  int64_t now_ms);
/* Deadline of `working_days` from now_ms, as above (answer_seconds of the
 * region, when set, replaces any number of working days). */
int64_t wz_policy_deadline(const wz_policy_t *self, const wz_region_t *region, int working_days,
                           int64_t now_ms);

const wz_scheme_t *wz_policy_scheme(const wz_policy_t *self, const char *id);
/* The scheme a corporation's vacancy goes through when it names none: the
 * first scheme of the region, in force on day dn, listing the corporation. */
const wz_scheme_t *wz_policy_default_scheme(const wz_policy_t *self, const char *region,
                                            const char *corporation, int64_t dn);
/* The scheme a candidate's urgency window follows: the first scheme of the
 * region in force on day dn listing its group and care provider; NULL if none. */
const wz_scheme_t *wz_policy_candidate_scheme(const wz_policy_t *self, const char *region,
                                              const char *group, const char *care_provider,
                                              int64_t dn);
bool wz_scheme_has_group(const wz_scheme_t *s, const char *group);
bool wz_scheme_has_corporation(const wz_scheme_t *s, const char *corporation);
bool wz_scheme_has_care_provider(const wz_scheme_t *s, const char *care_provider);
/* The contingent target for municipality x corporation in year; -1 when the
 * scheme has no cap for that year or the pair has no share. */
int wz_scheme_contingent(const wz_scheme_t *s, const char *municipality, const char *corporation,
                         int year);
/* Index of step id in the route, or -1. */
int wz_scheme_step(const wz_scheme_t *s, const char *id);
const wz_decline_reason_t *wz_policy_decline_reason(const wz_policy_t *self, const char *id);
const char *wz_step_action_name(wz_step_action_t a); /* "answer", "confirm", "sign" */

const char *wz_role_name(wz_role_t role);  /* "corporation", "care_provider", "municipality" */

#endif
