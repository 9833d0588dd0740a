/* bench_county.h — benchmark events drawn from the county directory file:
 * every grid and compound of data/demo-county.json, every category of each
 * kind, and texts sized so that each SUBMIT body falls in a chosen range of
 * bytes.
 *
 * Event number k decides everything about the event (its kind, place,
 * category, text) through a hash of k, so a resend is the same event and
 * every run, and every program (bench_throughput, bench_peer's Redis side),
 * sends the same mix. The county file is read with jansson, not the
 * directory module: a benchmark must be able to name every team, which the
 * directory's API does not list.
 *
 * Header-only: every .c file in bench/ is a program of its own. */
#ifndef GL_BENCH_COUNTY_H
#define GL_BENCH_COUNTY_H

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/gl.h"
#include "../common/records.h"
#include "bench_flood.h"

typedef struct county_place {
    const char *community, *grid, *compound; /* compound NULL for a grid's place */
    char terminal[GL_MAX_ID + 1];            /* the desk (or grid phone) submitting */
} county_place;

typedef struct bench_county {
    json_t *root;                    /* owns every string below */
    county_place *grids, *compounds; /* one per grid; one per compound */
    size_t ngrids, ncompounds;
    const char **cats[4];            /* category ids, indexed by enum gl_kind */
    size_t ncats[4];
    const char **teams;              /* every team id */
    size_t nteams;
} bench_county;

static inline void county_free(bench_county *c)
{
    free(c->grids);
    free(c->compounds);
    for (int i = 0; i < 4; i++)
        free(c->cats[i]);
    free(c->teams);
    if (c->root)
        json_decref(c->root);
    memset(c, 0, sizeof *c);
}

static inline const char *county_str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

/* county_load reads the county file at path into c. 0, or -1 with a reason
 * in err. */
static inline int county_load(bench_county *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    c->root = json_load_file(path, 0, &je);
    if (!c->root) {
        snprintf(err, errlen, "%.400s:%d: %.160s", path, je.line, je.text);
        return -1;
    }
    json_t *comms = json_object_get(c->root, "communities");
    json_t *cats = json_object_get(c->root, "categories");
    json_t *teams = json_object_get(c->root, "teams");
    size_t ng = 0, nc = 0, i, j;
    json_t *cm, *x;
    json_array_foreach(comms, i, cm) {
        ng += json_array_size(json_object_get(cm, "grids"));
        nc += json_array_size(json_object_get(cm, "compounds"));
    }
    c->grids = calloc(ng + 1, sizeof *c->grids);
    c->compounds = calloc(nc + 1, sizeof *c->compounds);
    c->teams = calloc(json_array_size(teams) + 1, sizeof *c->teams);
    if (!c->grids || !c->compounds || !c->teams)
        goto oom;
    json_array_foreach(comms, i, cm) {
        const char *community = county_str(cm, "id");
        if (!community)
            continue;
        json_array_foreach(json_object_get(cm, "grids"), j, x) {
            county_place *p = &c->grids[c->ngrids];
            if (!(p->grid = county_str(x, "id")))
                continue;
            p->community = community;
            snprintf(p->terminal, sizeof p->terminal, "%s-phone", p->grid);
            c->ngrids++;
        }
        json_array_foreach(json_object_get(cm, "compounds"), j, x) {
            county_place *p = &c->compounds[c->ncompounds];
            if (!(p->compound = county_str(x, "id")))
                continue;
            p->community = community;
            p->grid = county_str(x, "grid");
            snprintf(p->terminal, sizeof p->terminal, "%s-desk", community);
            c->ncompounds++;
        }
    }
    static const char *const kinds[4] = {NULL, "request", "alert", "feedback"};
    for (int k = 1; k < 4; k++) {
        json_t *list = json_object_get(cats, kinds[k]);
        c->cats[k] = calloc(json_array_size(list) + 1, sizeof *c->cats[k]);
        if (!c->cats[k])
            goto oom;
        json_array_foreach(list, i, x) {
            const char *id = county_str(x, "id");
            if (id)
                c->cats[k][c->ncats[k]++] = id;
        }
    }
    json_array_foreach(teams, i, x) {
        const char *id = county_str(x, "id");
        if (id)
            c->teams[c->nteams++] = id;
    }
    if (!c->ngrids || !c->ncompounds || !c->ncats[1] || !c->ncats[2] || !c->ncats[3] ||
        !c->nteams) {
        snprintf(err, errlen, "%.400s: no grids, compounds, teams or categories of every kind",
                 path);
        county_free(c);
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    county_free(c);
    return -1;
}

/* ---- the mix ---- */

/* What every event k is made of. A text pool of 3-byte UTF-8 characters
 * (Chinese, full-width punctuation) supplies the texts: event k's text is a
 * slice of it starting at a place of k's choosing, padded with ASCII to the
 * length that makes the body its target size. */
typedef struct mix_cfg {
    const bench_county *county;
    long alert_permille, feedback_permille; /* the rest are requests */
    long body_min, body_max;                /* SUBMIT body bytes */
    char *pool;                             /* the text pool, pool_len bytes */
    size_t pool_len;
} mix_cfg;

/* One terminal's scratch: the strings of the event being sent. */
typedef struct mix_scratch {
    const mix_cfg *cfg;
    char text[GL_MAX_TEXT + 1];
    char contact[32];
} mix_scratch;

static inline uint64_t mix_hash(uint64_t x) /* splitmix64's finaliser */
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static const char mix_phrases[] __attribute__((unused)) =
    "楼道灯坏了一个多月，晚上老人上下楼看不清，请尽快派人维修。"
    "小区东门外的下水道堵塞，雨后积水很深，居民出行十分不便。"
    "独居老人王大爷这两天没有出门，邻居敲门也没人应答，请网格员上门看看。"
    "楼上住户装修噪音从早到晚不停，多次协商未果，希望社区出面调解。"
    "电梯运行时有异响，上周还困过人，物业一直没有彻底检修。"
    "申请开具居住证明，办理孩子入学手续，请问需要准备哪些材料？"
    "希望有志愿者每周帮忙给行动不便的老人买菜送药。"
    "地下车库照明不足，车位被长期占用，业主意见很大。";

/* mix_init sets m up for county: alert_pct and feedback_pct percent of the
 * events alerts and property feedback, the rest requests, SUBMIT bodies of
 * body_min..body_max bytes; and makes the text pool. 0, or -1 when memory
 * runs out. */
static inline int mix_init(mix_cfg *m, const bench_county *county, long alert_pct,
                           long feedback_pct, long body_min, long body_max)
{
    m->county = county;
    m->alert_permille = alert_pct * 10;
    m->feedback_permille = feedback_pct * 10;
    m->body_min = body_min;
    m->body_max = body_max;
    size_t plen = strlen(mix_phrases), want = 3 * GL_MAX_TEXT;
    m->pool = malloc(want + plen + 1);
    if (!m->pool)
        return -1;
    m->pool_len = 0;
    while (m->pool_len < want) {
        memcpy(m->pool + m->pool_len, mix_phrases, plen);
        m->pool_len += plen;
    }
    m->pool[m->pool_len] = '\0';
    return 0;
}

static inline void mix_free(mix_cfg *m)
{
    free(m->pool);
    m->pool = NULL;
}

/* msgpack's size of a string of len bytes, and of an unsigned integer. */
static inline size_t mp_str_size(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    return n + (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5);
}

static inline size_t mp_uint_size(uint64_t v)
{
    return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffffull ? 5 : 9;
}

/* mix_body_size is what proto_encode makes of a SUBMIT of ev with rid:
 * a map of the fields present (checked against the codec at start-up by
 * bench_throughput, which reports the sizes it measured). */
static inline size_t mix_body_size(const gl_event *ev, uint64_t rid)
{
    size_t n = 1; /* fixmap: at most 15 keys */
#define MIX_KV(key, val)                                                                   \
    if (val)                                                                               \
    n += mp_str_size(key) + mp_str_size(val)
    if (rid)
        n += mp_str_size("rid") + mp_uint_size(rid);
    MIX_KV("id", ev->id);
    MIX_KV("kind", gl_kind_name(ev->kind));
    MIX_KV("category", ev->category);
    MIX_KV("text", ev->text);
    MIX_KV("community", ev->community);
    MIX_KV("compound", ev->compound);
    MIX_KV("grid", ev->grid);
    MIX_KV("terminal", ev->terminal);
    MIX_KV("address", ev->address);
    MIX_KV("contact", ev->contact);
    MIX_KV("urgency", ev->urgency);
    MIX_KV("severity", ev->severity);
    MIX_KV("certainty", ev->certainty);
#undef MIX_KV
    return n;
}

/* mix_event fills ev with event k under id, its strings in sc (valid until
 * the next call with sc). rid: the rid it will be sent with (its size
 * counts in the body; 0 for none). */
static inline void mix_event(mix_scratch *sc, uint64_t k, const char *id, uint64_t rid,
                             gl_event *ev)
{
    const mix_cfg *m = sc->cfg;
    const bench_county *c = m->county;
    uint64_t h = mix_hash(k), h2 = mix_hash(h);
    long r = (long)(h % 1000);
    memset(ev, 0, sizeof *ev);
    ev->id = id;
    const county_place *p;
    if (r < m->alert_permille) {
        static const char *const urgency[] = {"Immediate", "Expected"};
        static const char *const severity[] = {"Extreme", "Severe", "Moderate"};
        p = &c->grids[(h >> 10) % c->ngrids];
        ev->kind = GL_KIND_ALERT;
        ev->category = c->cats[GL_KIND_ALERT][(h >> 20) % c->ncats[GL_KIND_ALERT]];
        ev->grid = p->grid;
        ev->urgency = urgency[(h >> 30) % 2];
        ev->severity = severity[(h >> 32) % 3];
        ev->certainty = "Observed";
    } else if (r < m->alert_permille + m->feedback_permille) {
        p = &c->compounds[(h >> 10) % c->ncompounds];
        ev->kind = GL_KIND_FEEDBACK;
        ev->category = c->cats[GL_KIND_FEEDBACK][(h >> 20) % c->ncats[GL_KIND_FEEDBACK]];
        ev->compound = p->compound;
    } else {
        p = &c->grids[(h >> 10) % c->ngrids];
        ev->kind = GL_KIND_REQUEST;
        ev->category = c->cats[GL_KIND_REQUEST][(h >> 20) % c->ncats[GL_KIND_REQUEST]];
        ev->grid = p->grid;
    }
    ev->community = p->community;
    ev->terminal = p->terminal;
    unsigned tail = (unsigned)(h2 % 10000); /* "139-0952-%04u", without printf's cost */
    memcpy(sc->contact, "139-0952-", 9);
    for (int d = 3; d >= 0; d--, tail /= 10)
        sc->contact[9 + d] = (char)('0' + tail % 10);
    sc->contact[13] = '\0';
    ev->contact = sc->contact;

    /* The text that brings the body to its target size. */
    long span = m->body_max - m->body_min + 1;
    size_t target = (size_t)(m->body_min + (long)((h2 >> 16) % (uint64_t)(span > 0 ? span : 1)));
    ev->text = "";
    size_t base = mix_body_size(ev, rid); /* with an empty text: "text" and a 1-byte header */
    size_t len = target > base + 1 ? target - base - 1 : 1; /* a str8 header: 1 more byte */
    if (len >= 256)
        len = len > 1 ? len - 1 : 1; /* a str16 header: 1 more again */
    if (len > GL_MAX_TEXT)
        len = GL_MAX_TEXT;
    if (len < 1)
        len = 1;
    size_t chars = len / 3, pool_chars = m->pool_len / 3;
    size_t start = pool_chars > chars ? (size_t)((h2 >> 32) % (pool_chars - chars)) : 0;
    memcpy(sc->text, m->pool + start * 3, chars * 3);
    memset(sc->text + chars * 3, '.', len - chars * 3);
    sc->text[len] = '\0';
    ev->text = sc->text;
}

/* mix_flood_event is a flood terminal's make_event: t->event_arg is the
 * terminal's mix_scratch. */
static inline void mix_flood_event(const flood_term *t, const slot *s, gl_event *ev)
{
    uint32_t i = (uint32_t)(s - t->slots);
    mix_event(t->event_arg, s->k, s->id, s->gen << 16 | i, ev);
}

#endif
