/*
 * text — the bundled text plugin of plughost.
 *
 * Word counting, keyword extraction by term frequency and extractive
 * summarisation, plus two small functions that exercise the host's goal
 * context and memory recall.
 *
 * Words. A word is a maximal run of word bytes: ASCII letters and digits, the
 * apostrophe, and every byte >= 0x80 (so any non-ASCII UTF-8 character is part
 * of a word), except that a few Unicode punctuation and space characters
 * (no-break space, en and em dash, ellipsis, double quotation marks, guillemets,
 * ideographic space, comma and full stop) separate words. A run made only of
 * apostrophes is not a word. U+2018 and U+2019 count as apostrophes.
 *
 * Keywords. The words of the text, ASCII lower-cased, with U+2018/U+2019
 * mapped to "'", leading and trailing apostrophes and a trailing "'s" removed;
 * a word is a keyword candidate when it has at least 3 characters (code
 * points), at most KEYWORD_MAX_BYTES bytes, at least one letter (pure numbers
 * are left out) and is not a stop word. Candidates are ranked by frequency,
 * ties by first occurrence.
 *
 * Stop words (stop_words below, about 600) are the words that say nothing
 * about a text's topic, so that notes on different topics do not share
 * keywords through them (which would join their concepts into one cluster):
 * English function words (articles, pronouns, prepositions, conjunctions,
 * auxiliary and modal verbs, contractions), number words up to ten,
 * quantifiers and generic adjectives (several, various, whole, good, new,
 * first, last, ...), generic nouns (thing, way, lot, kind), common adverbs
 * (also, usually, often, really, quickly, ...) and every form of common
 * general-purpose verbs (give, keep, make, use, take, get, go, come, let, put,
 * say, tell, see, know, think, want, need, seem, try, ask, find, show, mean,
 * become, begin, start, help, turn, move, bring, allow, provide, include,
 * require, involve, happen, look, feel, stay, remain, tend, appear, consider,
 * matter, decide, continue, follow). Verbs and nouns that are often a topic
 * themselves are left in on purpose: run, call, set, work, read, write, grow,
 * change, build, leave/leaves, hold/held. The list is sorted in C-locale byte
 * order (text_init refuses to load otherwise) and searched by binary search:
 * about 10 comparisons a word.
 *
 * All internal work is on heap memory sized from the input; only the strings
 * returned to the host come from host->alloc. Nothing here keeps state between
 * calls except the host pointer, so the functions flagged PH_FN_THREAD_SAFE are.
 */
#include "plughost/plughost.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------- */
/* Limits and tuning                                                         */
/* ------------------------------------------------------------------------- */

/** Most keywords `keywords` returns (its k is checked against this). */
#define KEYWORDS_MAX 50
/** Most sentences `summarize` returns. */
#define SUMMARY_MAX_SENTENCES 20
/** Keywords `summarize` attaches to its memory as concepts. */
#define SUMMARY_CONCEPTS 5
/** Longest keyword candidate in bytes; longer tokens (URLs, hashes, junk) are skipped. */
#define KEYWORD_MAX_BYTES 64
/** Shortest keyword candidate, in characters. */
#define KEYWORD_MIN_CHARS 3
/** memory_recall limit used by recall_count. */
#define RECALL_LIMIT 1000
/** Score multiplier of the first sentence in `summarize`. */
#define FIRST_SENTENCE_BONUS 1.2

/** The host table from init (ctx->host is the same table during calls). */
static const ph_host_api *g_host;

/* ------------------------------------------------------------------------- */
/* Stop words: sorted in C-locale byte order (checked by init), lower case;  */
/* what they cover: the header comment. Words under 3 characters are never   */
/* candidates anyway; the short ones here keep the list a plain word list.   */
/* ------------------------------------------------------------------------- */

static const char *const stop_words[] = {
    "a", "able", "about", "above", "across", "actually", "after", "afterwards", "again", "against",
    "ago", "ahead", "ain't", "all", "allow", "allowed", "allowing", "allows", "almost", "alone",
    "along", "already", "also", "although", "always", "am", "amid", "among", "amongst", "an", "and",
    "another", "any", "anybody", "anyhow", "anyone", "anything", "anyway", "anywhere", "apparently",
    "appear", "appeared", "appearing", "appears", "approximately", "are", "aren't", "around", "as",
    "aside", "ask", "asked", "asking", "asks", "at", "away", "back", "bad", "basically", "be",
    "became", "because", "become", "becomes", "becoming", "been", "before", "began", "begin",
    "beginning", "begins", "begun", "behind", "being", "below", "beneath", "beside", "besides",
    "best", "better", "between", "beyond", "bit", "both", "bring", "bringing", "brings", "brought",
    "but", "by", "came", "can", "can't", "cannot", "certain", "certainly", "clearly", "come",
    "comes", "coming", "completely", "consider", "considered", "considering", "considers",
    "continue", "continued", "continues", "continuing", "could", "could've", "couldn't",
    "currently", "decide", "decided", "decides", "deciding", "definitely", "despite", "did",
    "didn't", "different", "directly", "do", "does", "doesn't", "doing", "don't", "done", "down",
    "during", "each", "earlier", "early", "easily", "eight", "either", "else", "elsewhere",
    "enough", "entire", "entirely", "especially", "essentially", "etc", "even", "eventually",
    "ever", "every", "everybody", "everyone", "everything", "everywhere", "exactly", "except",
    "extremely", "fairly", "far", "feel", "feeling", "feels", "few", "fewer", "finally", "find",
    "finding", "finds", "first", "five", "follow", "followed", "following", "follows", "for",
    "found", "four", "frequently", "from", "fully", "further", "furthermore", "gave", "generally",
    "get", "gets", "getting", "give", "given", "gives", "giving", "goes", "going", "gone", "good",
    "got", "gotten", "great", "had", "hadn't", "happen", "happened", "happening", "happens",
    "hardly", "has", "hasn't", "have", "haven't", "having", "he", "he'd", "he'll", "help", "helped",
    "helping", "helps", "hence", "her", "here", "hers", "herself", "highly", "him", "himself",
    "his", "hopefully", "how", "however", "i", "i'd", "i'll", "i'm", "i've", "if", "immediately",
    "in", "include", "included", "includes", "including", "indeed", "inside", "instead", "into",
    "involve", "involved", "involves", "involving", "is", "isn't", "it", "it'd", "it'll", "its",
    "itself", "just", "keep", "keeping", "keeps", "kept", "kind", "knew", "know", "knowing",
    "known", "knows", "largely", "last", "later", "least", "less", "let", "lets", "letting", "like",
    "liked", "likely", "likes", "little", "look", "looked", "looking", "looks", "lot", "lots",
    "made", "mainly", "make", "makes", "making", "many", "matter", "mattered", "matters", "may",
    "maybe", "me", "mean", "meaning", "means", "meant", "merely", "might", "might've", "mine",
    "more", "moreover", "most", "mostly", "move", "moved", "moves", "moving", "much", "must",
    "must've", "mustn't", "my", "myself", "namely", "naturally", "near", "nearby", "nearly",
    "necessarily", "need", "needed", "needing", "needs", "neither", "never", "nevertheless", "new",
    "newer", "next", "nine", "no", "nobody", "none", "nor", "normally", "not", "nothing", "now",
    "nowhere", "obviously", "occasionally", "of", "off", "often", "old", "on", "once", "one",
    "only", "onto", "or", "other", "others", "otherwise", "ought", "our", "ours", "ourselves",
    "out", "outside", "over", "own", "particularly", "past", "per", "perhaps", "plenty", "plus",
    "possibly", "potentially", "precisely", "presumably", "previously", "primarily", "probably",
    "provide", "provided", "provides", "providing", "put", "puts", "putting", "quickly", "quite",
    "rarely", "rather", "readily", "really", "recently", "regarding", "relatively", "remain",
    "remained", "remaining", "remains", "require", "required", "requires", "requiring", "right",
    "said", "same", "saw", "say", "saying", "says", "see", "seeing", "seem", "seemed", "seeming",
    "seems", "seen", "sees", "seldom", "seriously", "seven", "several", "shall", "shan't", "she",
    "she'd", "she'll", "should", "should've", "shouldn't", "show", "showed", "showing", "shown",
    "shows", "significantly", "similarly", "simply", "since", "six", "slightly", "slowly", "so",
    "some", "somebody", "somehow", "someone", "something", "sometimes", "somewhat", "somewhere",
    "soon", "specifically", "start", "started", "starting", "starts", "stay", "stayed", "staying",
    "stays", "still", "strongly", "subsequently", "successfully", "such", "suddenly", "sure",
    "surely", "take", "taken", "takes", "taking", "tell", "telling", "tells", "ten", "tend",
    "tended", "tending", "tends", "than", "that", "the", "their", "theirs", "them", "themselves",
    "then", "there", "thereby", "therefore", "these", "they", "they'd", "they'll", "they're",
    "they've", "thing", "things", "think", "thinking", "thinks", "this", "those", "though",
    "thought", "three", "through", "throughout", "thus", "to", "together", "told", "too", "took",
    "toward", "towards", "tried", "tries", "truly", "try", "trying", "turn", "turned", "turning",
    "turns", "two", "typically", "ultimately", "unable", "under", "unfortunately", "unless",
    "unlike", "unlikely", "until", "up", "upon", "us", "use", "used", "uses", "using", "usually",
    "various", "versus", "very", "via", "want", "wanted", "wanting", "wants", "was", "wasn't",
    "way", "ways", "we", "we'd", "we'll", "we're", "we've", "well", "went", "were", "weren't",
    "what", "whatever", "when", "whenever", "where", "whereas", "whereby", "wherein", "wherever",
    "whether", "which", "while", "who", "whoever", "whole", "whom", "whose", "why", "widely",
    "will", "with", "within", "without", "won't", "worse", "worst", "would", "would've", "wouldn't",
    "yes", "yet", "you", "you'd", "you'll", "you're", "you've", "your", "yours", "yourself",
    "yourselves",
};

#define STOP_WORD_COUNT (sizeof stop_words / sizeof stop_words[0])

/** Whether the `len` bytes at `w` (no NUL needed) are a stop word. Binary search. */
static int is_stop_word(const char *w, size_t len) {
    size_t lo = 0, hi = STOP_WORD_COUNT;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *s = stop_words[mid];
        size_t slen = strlen(s);
        int c = memcmp(w, s, len < slen ? len : slen);
        if (c == 0) c = (len > slen) - (len < slen);
        if (c == 0) return 1;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Bytes and words                                                           */
/* ------------------------------------------------------------------------- */

static int is_ascii_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_ascii_letter(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int is_word_byte(unsigned char c) {
    return is_ascii_letter(c) || is_ascii_digit(c) || c == '\'' || c >= 0x80;
}
static unsigned char ascii_lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c; }

/** Length of U+2018 or U+2019 (a typographic apostrophe) at s, else 0. */
static size_t curly_apostrophe_len(const unsigned char *s, size_t avail) {
    if (avail >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0x98 || s[2] == 0x99)) return 3;
    return 0;
}

/**
 * Length of a non-ASCII punctuation or space character at s that separates
 * words, else 0: U+00A0 no-break space, U+00AB/U+00BB guillemets, U+2013/U+2014
 * dashes, U+201C/U+201D double quotation marks, U+2026 ellipsis, U+3000
 * ideographic space, U+3001/U+3002 ideographic comma and full stop.
 */
static size_t unicode_separator_len(const unsigned char *s, size_t avail) {
    if (s[0] < 0x80) return 0;
    if (avail >= 2 && s[0] == 0xC2 && (s[1] == 0xA0 || s[1] == 0xAB || s[1] == 0xBB)) return 2;
    if (avail >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
        (s[2] == 0x93 || s[2] == 0x94 || s[2] == 0x9C || s[2] == 0x9D || s[2] == 0xA6)) return 3;
    if (avail >= 3 && s[0] == 0xE3 && s[1] == 0x80 && (s[2] == 0x80 || s[2] == 0x81 || s[2] == 0x82)) return 3;
    return 0;
}

/** Whether byte i of s (of length len) can be part of a word. */
static int word_byte_at(const unsigned char *s, size_t len, size_t i) {
    return is_word_byte(s[i]) && unicode_separator_len(s + i, len - i) == 0;
}

/** Whether the run [start, end) has something besides apostrophes. */
static int run_has_content(const unsigned char *s, size_t start, size_t end) {
    size_t i = start;
    while (i < end) {
        size_t a = curly_apostrophe_len(s + i, end - i);
        if (a) { i += a; continue; }
        if (s[i] != '\'') return 1;
        i++;
    }
    return 0;
}

/**
 * Finds the next word in [*pos, len): sets [*start, *end) and moves *pos past
 * it. Returns 0 when there is none.
 */
static int next_word(const unsigned char *s, size_t len, size_t *pos, size_t *start, size_t *end) {
    size_t i = *pos;
    while (i < len) {
        if (!word_byte_at(s, len, i)) {
            size_t sep = unicode_separator_len(s + i, len - i);
            i += sep ? sep : 1;
            continue;
        }
        size_t b = i;
        while (i < len && word_byte_at(s, len, i)) i++;
        if (run_has_content(s, b, i)) {
            *start = b;
            *end = i;
            *pos = i;
            return 1;
        }
    }
    *pos = len;
    return 0;
}

/**
 * Normalises the raw word [start, end) of s into out (room for end - start
 * bytes; no NUL written) and returns its length, or 0 when it is not a keyword
 * candidate.
 */
static size_t keyword_candidate(const unsigned char *s, size_t start, size_t end, char *out) {
    size_t n = 0;
    for (size_t i = start; i < end;) {
        size_t a = curly_apostrophe_len(s + i, end - i);
        if (a) {
            out[n++] = '\'';
            i += a;
        } else {
            out[n++] = (char)ascii_lower(s[i]);
            i++;
        }
    }
    size_t b = 0;
    while (b < n && out[b] == '\'') b++;
    while (n > b && out[n - 1] == '\'') n--;
    if (n - b >= 2 && out[n - 2] == '\'' && out[n - 1] == 's') n -= 2;
    while (n > b && out[n - 1] == '\'') n--;
    if (b > 0) {
        memmove(out, out + b, n - b);
        n -= b;
    }
    if (n == 0 || n > KEYWORD_MAX_BYTES) return 0;
    size_t chars = 0;
    int letter = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if ((c & 0xC0) != 0x80) chars++;
        if (is_ascii_letter(c) || c >= 0x80) letter = 1;
    }
    if (chars < KEYWORD_MIN_CHARS || !letter) return 0;
    if (is_stop_word(out, n)) return 0;
    return n;
}

/* ------------------------------------------------------------------------- */
/* Vocabulary: keyword candidates with their counts, in first-seen order     */
/* ------------------------------------------------------------------------- */

typedef struct term {
    size_t offset;   /* of the NUL-terminated text in vocab.arena */
    size_t len;
    uint64_t hash;
    size_t count;
} term;

typedef struct vocab {
    char *arena;
    size_t arena_len, arena_cap;
    term *terms;     /* index = order of first occurrence */
    size_t nterms, terms_cap;
    size_t *slots;   /* open addressing; term index + 1, 0 = empty */
    size_t nslots;   /* power of two */
    size_t max_count;
    char *scratch;   /* room for the longest word of the text */
} vocab;

static uint64_t fnv1a(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void vocab_free(vocab *v) {
    free(v->arena);
    free(v->terms);
    free(v->slots);
    free(v->scratch);
    memset(v, 0, sizeof *v);
}

static int vocab_init(vocab *v, size_t text_len) {
    memset(v, 0, sizeof *v);
    v->nslots = 64;
    v->slots = calloc(v->nslots, sizeof *v->slots);
    v->scratch = malloc(text_len + 1);
    if (!v->slots || !v->scratch) {
        vocab_free(v);
        return 0;
    }
    return 1;
}

/** Index of the term equal to w, or (size_t)-1. */
static size_t vocab_find(const vocab *v, const char *w, size_t len, uint64_t hash) {
    size_t mask = v->nslots - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        size_t slot = v->slots[i];
        if (slot == 0) return (size_t)-1;
        const term *t = &v->terms[slot - 1];
        if (t->hash == hash && t->len == len && memcmp(v->arena + t->offset, w, len) == 0) return slot - 1;
    }
}

static int vocab_grow_slots(vocab *v) {
    if (v->nslots > ((size_t)-1) / 2 / sizeof *v->slots) return 0;
    size_t n = v->nslots * 2;
    size_t *slots = calloc(n, sizeof *slots);
    if (!slots) return 0;
    for (size_t t = 0; t < v->nterms; t++) {
        size_t i = (size_t)v->terms[t].hash & (n - 1);
        while (slots[i]) i = (i + 1) & (n - 1);
        slots[i] = t + 1;
    }
    free(v->slots);
    v->slots = slots;
    v->nslots = n;
    return 1;
}

/** Counts one occurrence of w. Returns 0 when out of memory. */
static int vocab_add(vocab *v, const char *w, size_t len) {
    uint64_t hash = fnv1a(w, len);
    size_t found = vocab_find(v, w, len, hash);
    if (found != (size_t)-1) {
        size_t c = ++v->terms[found].count;
        if (c > v->max_count) v->max_count = c;
        return 1;
    }
    if ((v->nterms + 1) * 4 > v->nslots * 3 && !vocab_grow_slots(v)) return 0;
    if (v->nterms == v->terms_cap) {
        size_t cap = v->terms_cap ? v->terms_cap * 2 : 64;
        if (cap > ((size_t)-1) / sizeof *v->terms) return 0;
        term *terms = realloc(v->terms, cap * sizeof *terms);
        if (!terms) return 0;
        v->terms = terms;
        v->terms_cap = cap;
    }
    if (len + 1 > v->arena_cap - v->arena_len) {
        size_t cap = v->arena_cap ? v->arena_cap : 256;
        while (len + 1 > cap - v->arena_len) {
            if (cap > ((size_t)-1) / 2) return 0;
            cap *= 2;
        }
        char *arena = realloc(v->arena, cap);
        if (!arena) return 0;
        v->arena = arena;
        v->arena_cap = cap;
    }
    memcpy(v->arena + v->arena_len, w, len);
    v->arena[v->arena_len + len] = '\0';
    term *t = &v->terms[v->nterms];
    t->offset = v->arena_len;
    t->len = len;
    t->hash = hash;
    t->count = 1;
    v->arena_len += len + 1;
    if (v->max_count == 0) v->max_count = 1;
    size_t mask = v->nslots - 1;
    size_t i = (size_t)hash & mask;
    while (v->slots[i]) i = (i + 1) & mask;
    v->slots[i] = ++v->nterms;
    return 1;
}

/** Builds the vocabulary of the whole text. Returns 0 when out of memory. */
static int vocab_build(vocab *v, const unsigned char *s, size_t len) {
    if (!vocab_init(v, len)) return 0;
    size_t pos = 0, b, e;
    while (next_word(s, len, &pos, &b, &e)) {
        size_t n = keyword_candidate(s, b, e, v->scratch);
        if (n && !vocab_add(v, v->scratch, n)) {
            vocab_free(v);
            return 0;
        }
    }
    return 1;
}

typedef struct ranked {
    size_t count;
    size_t index;
} ranked;

static int compare_ranked(const void *pa, const void *pb) {
    const ranked *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/**
 * Puts the top k terms (most frequent first, ties by first occurrence) into
 * out (room for k pointers into v->arena). Returns how many, or (size_t)-1
 * when out of memory.
 */
static size_t vocab_top(const vocab *v, size_t k, const char **out) {
    if (v->nterms == 0 || k == 0) return 0;
    ranked *r = malloc(v->nterms * sizeof *r);
    if (!r) return (size_t)-1;
    for (size_t i = 0; i < v->nterms; i++) {
        r[i].count = v->terms[i].count;
        r[i].index = i;
    }
    qsort(r, v->nterms, sizeof *r, compare_ranked);
    size_t n = k < v->nterms ? k : v->nterms;
    for (size_t i = 0; i < n; i++) out[i] = v->arena + v->terms[r[i].index].offset;
    free(r);
    return n;
}

/* ------------------------------------------------------------------------- */
/* Small helpers                                                             */
/* ------------------------------------------------------------------------- */

static const char *status_name(ph_status s) {
    switch (s) {
    case PH_OK: return "PH_OK";
    case PH_ERR_INVALID: return "PH_ERR_INVALID";
    case PH_ERR_NOT_FOUND: return "PH_ERR_NOT_FOUND";
    case PH_ERR_STORAGE: return "PH_ERR_STORAGE";
    case PH_ERR_NO_MEMORY: return "PH_ERR_NO_MEMORY";
    case PH_ERR_STATE: return "PH_ERR_STATE";
    }
    return "unknown status";
}

/** Reports "<fn>: <host call> failed with <status>". */
static void host_call_failed(const ph_call_context *ctx, const char *fn, const char *call, ph_status st) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s: host %s failed with %s (%d)", fn, call, status_name(st), (int)st);
    ctx->host->set_error(ctx, msg);
}

static void out_of_memory(const ph_call_context *ctx, const char *fn) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s: out of memory", fn);
    ctx->host->set_error(ctx, msg);
}

/** Parses a whole decimal int64 (surrounding ASCII whitespace allowed). */
static int parse_i64(const char *s, int64_t *out) {
    while (is_space((unsigned char)*s)) s++;
    if (*s == '\0') return 0;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s) return 0;
    while (is_space((unsigned char)*end)) end++;
    if (*end != '\0') return 0;
    *out = (int64_t)v;
    return 1;
}

/**
 * Reads integer context key `key` (missing = 0), adds one and stores it back.
 * On failure reports an error prefixed with fn and returns 0.
 */
static int context_increment(const ph_call_context *ctx, const char *fn, const char *key, int64_t *result) {
    const ph_host_api *host = ctx->host;
    int64_t value = 0;
    char *old = host->context_get(ctx, key);
    if (old) {
        int ok = parse_i64(old, &value);
        if (!ok) {
            size_t need = strlen(old) + strlen(key) + strlen(fn) + 64;
            char *msg = malloc(need);
            if (msg) {
                snprintf(msg, need, "%s: context key \"%s\" holds \"%s\", which is not an integer", fn, key, old);
                host->set_error(ctx, msg);
                free(msg);
            } else {
                host->set_error(ctx, "context key does not hold an integer");
            }
            host->free(old);
            return 0;
        }
        host->free(old);
    }
    if (value == INT64_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s: context counter would overflow int64", fn);
        host->set_error(ctx, msg);
        return 0;
    }
    value++;
    char text[32];
    snprintf(text, sizeof text, "%lld", (long long)value);
    ph_status st = host->context_set(ctx, key, text);
    if (st != PH_OK) {
        host_call_failed(ctx, fn, "context_set", st);
        return 0;
    }
    *result = value;
    return 1;
}

/* ------------------------------------------------------------------------- */
/* word_count                                                                */
/* ------------------------------------------------------------------------- */

static int64_t text_word_count(const char *text) {
    if (!text) return 0;
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), pos = 0, b, e;
    int64_t n = 0;
    while (next_word(s, len, &pos, &b, &e)) n++;
    return n;
}

/* ------------------------------------------------------------------------- */
/* keywords                                                                  */
/* ------------------------------------------------------------------------- */

static char *text_keywords(const ph_call_context *ctx, const char *text, int32_t k) {
    const ph_host_api *host = ctx->host;
    if (k <= 0 || k > KEYWORDS_MAX) {
        char msg[128];
        snprintf(msg, sizeof msg, "keywords: k must be between 1 and %d, got %ld", KEYWORDS_MAX, (long)k);
        host->set_error(ctx, msg);
        return NULL;
    }
    if (!text) text = "";
    size_t len = strlen(text);
    if (len == 0) {
        char *empty = host->alloc(1);
        if (!empty) {
            out_of_memory(ctx, "keywords");
            return NULL;
        }
        empty[0] = '\0';
        return empty;
    }

    vocab v;
    if (!vocab_build(&v, (const unsigned char *)text, len)) {
        out_of_memory(ctx, "keywords");
        return NULL;
    }
    const char *top[KEYWORDS_MAX];
    size_t n = vocab_top(&v, (size_t)k, top);
    if (n == (size_t)-1) {
        vocab_free(&v);
        out_of_memory(ctx, "keywords");
        return NULL;
    }

    size_t total = 1;
    for (size_t i = 0; i < n; i++) total += strlen(top[i]) + (i ? 2 : 0);
    char *result = host->alloc(total);
    if (!result) {
        vocab_free(&v);
        out_of_memory(ctx, "keywords");
        return NULL;
    }
    char *p = result;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
            *p++ = ' ';
        }
        size_t l = strlen(top[i]);
        memcpy(p, top[i], l);
        p += l;
    }
    *p = '\0';

    ph_memory_write w;
    memset(&w, 0, sizeof w);
    w.struct_size = (uint32_t)sizeof w;
    w.content = text;
    w.concepts = top;
    w.concept_count = n;
    ph_status st = host->memory_write(ctx, &w, NULL, 0);
    vocab_free(&v);
    if (st != PH_OK) {
        /* memory_write has set the call's error itself; the last message wins, so keep it. */
        host->free(result);
        return NULL;
    }
    return result;
}

/* ------------------------------------------------------------------------- */
/* summarize                                                                 */
/* ------------------------------------------------------------------------- */

typedef struct sentence {
    size_t start, end;  /* trimmed byte range */
    double score;
    size_t order;       /* index among sentences */
} sentence;

typedef struct sentence_list {
    sentence *items;
    size_t count, cap;
} sentence_list;

/** Abbreviations whose period does not end a sentence (lower case, without the final '.'). */
static const char *const abbreviations[] = {
    "cf", "dr", "e.g", "eg", "i.e", "ie", "jr", "mr", "mrs", "ms", "mt", "prof", "sr", "st", "vs",
};

/** Whether the '.' at s[dot] ends an abbreviation from the list above. */
static int ends_abbreviation(const unsigned char *s, size_t from, size_t dot) {
    size_t b = dot;
    while (b > from && (is_ascii_letter(s[b - 1]) || s[b - 1] == '.')) b--;
    if (b > from && is_word_byte(s[b - 1])) return 0; /* part of a longer token */
    size_t n = dot - b;
    if (n == 0 || n > 4) return 0;
    char w[5];
    for (size_t i = 0; i < n; i++) w[i] = (char)ascii_lower(s[b + i]);
    for (size_t i = 0; i < sizeof abbreviations / sizeof abbreviations[0]; i++) {
        if (strlen(abbreviations[i]) == n && memcmp(abbreviations[i], w, n) == 0) return 1;
    }
    return 0;
}

/** Adds [start, end) trimmed, when it holds at least one word. Returns 0 when out of memory. */
static int sentence_add(sentence_list *l, const unsigned char *s, size_t start, size_t end) {
    while (start < end && is_space(s[start])) start++;
    while (end > start && is_space(s[end - 1])) end--;
    size_t pos = start, b, e;
    if (!next_word(s, end, &pos, &b, &e)) return 1;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > ((size_t)-1) / sizeof *l->items) return 0;
        sentence *items = realloc(l->items, cap * sizeof *items);
        if (!items) return 0;
        l->items = items;
        l->cap = cap;
    }
    sentence *x = &l->items[l->count];
    x->start = start;
    x->end = end;
    x->score = 0;
    x->order = l->count;
    l->count++;
    return 1;
}

/** Closing quote or bracket after a terminator: its length, else 0. */
static size_t closer_len(const unsigned char *s, size_t avail) {
    if (s[0] == '"' || s[0] == '\'' || s[0] == ')' || s[0] == ']') return 1;
    if (avail >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0x9D || s[2] == 0x99)) return 3; /* ” ’ */
    if (avail >= 2 && s[0] == 0xC2 && s[1] == 0xBB) return 2;                                 /* » */
    return 0;
}

/**
 * Splits text into sentences: a sentence ends after a run of '.', '!' or '?'
 * (plus closing quotes or brackets) that is followed by whitespace or the end
 * of the text, except after a common abbreviation; a blank line also ends one.
 */
static int split_sentences(const unsigned char *s, size_t len, sentence_list *l) {
    size_t start = 0, i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '.' || c == '!' || c == '?') {
            size_t j = i;
            while (j < len && (s[j] == '.' || s[j] == '!' || s[j] == '?')) j++;
            size_t k = j;
            for (size_t n; k < len && (n = closer_len(s + k, len - k)) != 0;) k += n;
            int boundary = (k == len || is_space(s[k]));
            if (boundary && j == i + 1 && c == '.' && ends_abbreviation(s, start, i)) boundary = 0;
            if (boundary) {
                if (!sentence_add(l, s, start, k)) return 0;
                start = k;
            }
            i = k > j ? k : j;
            continue;
        }
        if (c == '\n') {
            size_t j = i + 1;
            while (j < len && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) j++;
            if (j < len && s[j] == '\n') {
                if (!sentence_add(l, s, start, i)) return 0;
                start = j;
                i = j;
                continue;
            }
        }
        i++;
    }
    return sentence_add(l, s, start, len);
}

static int compare_score(const void *pa, const void *pb) {
    const sentence *a = pa, *b = pb;
    if (a->score != b->score) return a->score > b->score ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

static int compare_order(const void *pa, const void *pb) {
    const sentence *a = pa, *b = pb;
    return (a->order > b->order) - (a->order < b->order);
}

/** Bytes of sentence x with each whitespace run collapsed to one space. */
static size_t collapsed_len(const unsigned char *s, const sentence *x) {
    size_t n = 0;
    for (size_t i = x->start; i < x->end; i++) {
        if (is_space(s[i])) {
            if (i > x->start && is_space(s[i - 1])) continue;
            n++;
        } else {
            n++;
        }
    }
    return n;
}

static char *append_collapsed(char *p, const unsigned char *s, const sentence *x) {
    for (size_t i = x->start; i < x->end; i++) {
        if (is_space(s[i])) {
            if (i > x->start && is_space(s[i - 1])) continue;
            *p++ = ' ';
        } else {
            *p++ = (char)s[i];
        }
    }
    return p;
}

static char *text_summarize(const ph_call_context *ctx, const char *text, int32_t sentences) {
    const ph_host_api *host = ctx->host;
    if (sentences < 1 || sentences > SUMMARY_MAX_SENTENCES) {
        char msg[128];
        snprintf(msg, sizeof msg, "summarize: sentences must be between 1 and %d, got %ld",
                 SUMMARY_MAX_SENTENCES, (long)sentences);
        host->set_error(ctx, msg);
        return NULL;
    }
    if (!text) text = "";
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);

    sentence_list list = {NULL, 0, 0};
    vocab v;
    memset(&v, 0, sizeof v);
    char *result = NULL;

    if (!split_sentences(s, len, &list)) goto oom;
    if (list.count == 0) {
        /* No words at all (e.g. empty text): an empty summary, nothing written. */
        free(list.items);
        result = host->alloc(1);
        if (!result) {
            out_of_memory(ctx, "summarize");
            return NULL;
        }
        result[0] = '\0';
        return result;
    }
    if (!vocab_build(&v, s, len)) goto oom;

    /* Score: sum of the normalised frequencies of its keyword candidates / its word count. */
    for (size_t i = 0; i < list.count; i++) {
        sentence *x = &list.items[i];
        size_t pos = x->start, b, e, words = 0;
        double sum = 0;
        while (next_word(s, x->end, &pos, &b, &e)) {
            words++;
            size_t n = keyword_candidate(s, b, e, v.scratch);
            if (n) {
                size_t t = vocab_find(&v, v.scratch, n, fnv1a(v.scratch, n));
                if (t != (size_t)-1) sum += (double)v.terms[t].count / (double)v.max_count;
            }
        }
        x->score = words ? sum / (double)words : 0;
        if (i == 0) x->score *= FIRST_SENTENCE_BONUS;
    }

    size_t pick = (size_t)sentences < list.count ? (size_t)sentences : list.count;
    qsort(list.items, list.count, sizeof *list.items, compare_score);
    qsort(list.items, pick, sizeof *list.items, compare_order);

    size_t total = 1;
    for (size_t i = 0; i < pick; i++) total += collapsed_len(s, &list.items[i]) + (i ? 1 : 0);
    result = host->alloc(total);
    if (!result) goto oom;
    char *p = result;
    for (size_t i = 0; i < pick; i++) {
        if (i) *p++ = ' ';
        p = append_collapsed(p, s, &list.items[i]);
    }
    *p = '\0';

    const char *concepts[SUMMARY_CONCEPTS];
    size_t nc = vocab_top(&v, SUMMARY_CONCEPTS, concepts);
    if (nc == (size_t)-1) goto oom;
    ph_dependency deps[2];
    size_t nd = 0;
    for (size_t i = 1; i < nc && i <= 2; i++) {
        deps[nd].from = concepts[i];
        deps[nd].to = concepts[0];
        nd++;
    }

    ph_memory_write w;
    memset(&w, 0, sizeof w);
    w.struct_size = (uint32_t)sizeof w;
    w.content = result;
    w.concepts = concepts;
    w.concept_count = nc;
    w.depends_on = nd ? deps : NULL;
    w.depends_on_count = nd;
    ph_status st = host->memory_write(ctx, &w, NULL, 0);
    if (st != PH_OK) goto fail_quiet; /* memory_write set the error itself */

    int64_t made;
    if (!context_increment(ctx, "summarize", "summaries", &made)) goto fail_quiet;
    st = host->context_set(ctx, "last_summary", result);
    if (st != PH_OK) {
        host_call_failed(ctx, "summarize", "context_set(\"last_summary\")", st);
        goto fail_quiet;
    }

    vocab_free(&v);
    free(list.items);
    return result;

oom:
    out_of_memory(ctx, "summarize");
fail_quiet:
    if (result) host->free(result);
    vocab_free(&v);
    free(list.items);
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* tally, recall_count                                                       */
/* ------------------------------------------------------------------------- */

static int64_t text_tally(const ph_call_context *ctx, const char *key) {
    int64_t value = 0;
    if (!context_increment(ctx, "tally", key ? key : "", &value)) return 0;
    return value;
}

static bool count_memory(void *user, const ph_memory *memory) {
    (void)memory;
    (*(int64_t *)user)++;
    return true;
}

static int64_t text_recall_count(const ph_call_context *ctx, const char *concept) {
    ph_recall_query q;
    memset(&q, 0, sizeof q);
    q.struct_size = (uint32_t)sizeof q;
    q.concept = concept ? concept : "";
    q.text = NULL;
    q.limit = RECALL_LIMIT;
    int64_t count = 0;
    ph_status st = ctx->host->memory_recall(ctx, &q, count_memory, &count);
    if (st != PH_OK) {
        host_call_failed(ctx, "recall_count", "memory_recall", st);
        return 0;
    }
    return count;
}

/* ------------------------------------------------------------------------- */
/* Lifecycle                                                                 */
/* ------------------------------------------------------------------------- */

static bool text_init(const ph_host_api *host) {
    g_host = host;
    for (size_t i = 1; i < STOP_WORD_COUNT; i++) {
        if (strcmp(stop_words[i - 1], stop_words[i]) >= 0) {
            host->log(NULL, PH_LOG_ERROR, "text plugin: the stop-word list is not sorted; refusing to load");
            return false;
        }
    }
    host->log(NULL, PH_LOG_DEBUG, "text plugin ready");
    return true;
}

static void text_shutdown(void) { g_host = NULL; }

/* ------------------------------------------------------------------------- */
/* Descriptor                                                                */
/* ------------------------------------------------------------------------- */

static const uint32_t word_count_types[] = {PH_TYPE_STRING};
static const char *const word_count_names[] = {"text"};
/* Parameter metadata (ABI minor 1): the host checks arguments against it and
 * generates tool schemas from it. Fields: struct_size, flags, description,
 * minimum, maximum, default_json, allowed, allowed_count, reserved. */
#define PARAM(desc) {sizeof(ph_param_info), 0, desc, 0, 0, NULL, NULL, 0, 0}
static const ph_param_info p_text = PARAM("The text: UTF-8, any length.");
static const ph_param_info p_k = {
    sizeof(ph_param_info), PH_PARAM_HAS_MINIMUM | PH_PARAM_HAS_MAXIMUM | PH_PARAM_OPTIONAL,
    "How many keywords to return.", 1, KEYWORDS_MAX, "10", NULL, 0, 0};
static const ph_param_info p_sentences = {
    sizeof(ph_param_info), PH_PARAM_HAS_MINIMUM | PH_PARAM_HAS_MAXIMUM | PH_PARAM_OPTIONAL,
    "How many sentences the summary keeps.", 1, SUMMARY_MAX_SENTENCES, "3", NULL, 0, 0};
static const ph_param_info p_key = PARAM("The counter's name in the goal context.");
static const ph_param_info p_concept = PARAM("A concept key (normalised to lower case).");
static const ph_param_info *const word_count_params[] = {&p_text};
static const ph_param_info *const keywords_params[] = {&p_text, &p_k};
static const ph_param_info *const summarize_params[] = {&p_text, &p_sentences};
static const ph_param_info *const tally_params[] = {&p_key};
static const ph_param_info *const recall_count_params[] = {&p_concept};

static const ph_function fn_word_count = {
    sizeof(ph_function), "word_count",
    "Number of words (runs of letters, digits, apostrophes and non-ASCII characters).",
    (void (*)(void))text_word_count, PH_TYPE_INT64, 1, word_count_types, word_count_names,
    PH_FN_THREAD_SAFE,
    0, /* reserved */
    word_count_params, "The number of words.", NULL,
};

static const uint32_t keywords_types[] = {PH_TYPE_STRING, PH_TYPE_INT32};
static const char *const keywords_names[] = {"text", "k"};
static const ph_function fn_keywords = {
    sizeof(ph_function), "keywords",
    "Top k (1..50) keywords by term frequency, joined with \", \"; remembers the text under them.",
    (void (*)(void))text_keywords, PH_TYPE_STRING, 2, keywords_types, keywords_names,
    PH_FN_TAKES_CONTEXT | PH_FN_THREAD_SAFE | PH_FN_RETURNS_HOST_ALLOC,
    0, /* reserved */
    keywords_params, "The keywords, most frequent first, joined with \", \".", NULL,
};

static const uint32_t summarize_types[] = {PH_TYPE_STRING, PH_TYPE_INT32};
static const char *const summarize_names[] = {"text", "sentences"};
static const ph_function fn_summarize = {
    sizeof(ph_function), "summarize",
    "Extractive summary of 1..20 sentences; remembers it and counts summaries in the goal context.",
    (void (*)(void))text_summarize, PH_TYPE_STRING, 2, summarize_types, summarize_names,
    PH_FN_TAKES_CONTEXT | PH_FN_RETURNS_HOST_ALLOC,
    0, /* reserved */
    summarize_params, "The summary: the chosen sentences in their original order.", NULL,
};

static const uint32_t tally_types[] = {PH_TYPE_STRING};
static const char *const tally_names[] = {"key"};
static const ph_function fn_tally = {
    sizeof(ph_function), "tally",
    "Increments the integer counter `key` of the goal context and returns the new value.",
    (void (*)(void))text_tally, PH_TYPE_INT64, 1, tally_types, tally_names,
    PH_FN_TAKES_CONTEXT,
    0, /* reserved */
    tally_params, "The counter's new value.", NULL,
};

static const uint32_t recall_count_types[] = {PH_TYPE_STRING};
static const char *const recall_count_names[] = {"concept"};
static const ph_function fn_recall_count = {
    sizeof(ph_function), "recall_count",
    "Number of memories of the goal recalled by a concept (at most 1000).",
    (void (*)(void))text_recall_count, PH_TYPE_INT64, 1, recall_count_types, recall_count_names,
    PH_FN_TAKES_CONTEXT | PH_FN_THREAD_SAFE,
    0, /* reserved */
    recall_count_params, "How many memories were recalled.", NULL,
};

static const ph_function *const functions[] = {
    &fn_word_count, &fn_keywords, &fn_summarize, &fn_tally, &fn_recall_count,
};

static const ph_plugin descriptor = {
    sizeof(ph_plugin),
    PLUGHOST_ABI_MAJOR,
    PLUGHOST_ABI_MINOR,
    0,
    "text",
    "1.0.0",
    "Word counts, keywords and extractive summaries, remembered as memories.",
    (uint32_t)(sizeof functions / sizeof functions[0]),
    functions,
    text_init,
    text_shutdown,
    NULL,
};

PLUGHOST_DECLARE_ENTRY() { return &descriptor; }
