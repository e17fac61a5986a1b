/*
 * ikey.h: internal keys, LevelDB's dbformat (docs/format.md "Internal keys").
 *
 *   internal key = user_key bytes | fixed64 tag,  tag = (seq << 8) | type
 *
 * type 0 is a deletion (tombstone), type 1 a value. Sequence numbers are 56
 * bits. Internal keys order by user key ascending (bytewise), then by tag
 * descending, so the newest version of a key comes first.
 *
 * A lookup key for (user_key, snapshot) is the memtable key
 *   varint32(user_key_len + 8) | user_key | fixed64((snapshot << 8) | 1)
 * whose internal-key part seeks to the newest entry with seq <= snapshot.
 */
#ifndef CAIRN_UTIL_IKEY_H
#define CAIRN_UTIL_IKEY_H

#include "util/buf.h"
#include "util/coding.h"
#include "util/slice.h"

#include <stdint.h>

#define CAIRN__TYPE_DELETION 0
#define CAIRN__TYPE_VALUE    1
/* Tags sort descending, so seeking uses the highest type. */
#define CAIRN__TYPE_FOR_SEEK CAIRN__TYPE_VALUE
#define CAIRN__MAX_SEQ       ((UINT64_C(1) << 56) - 1)

typedef struct cairn__pikey {
    cairn__slice user_key;
    uint64_t seq;
    int type;
} cairn__pikey;

static inline uint64_t cairn__ikey_tag(uint64_t seq, int type)
{
    return (seq << 8) | (uint64_t)type;
}

/* Appends user_key | tag to b. */
static inline int cairn__ikey_append(cairn__buf *b, cairn__slice user_key,
                                     uint64_t seq, int type)
{
    CAIRN_TRY(cairn__buf_reserve(b, user_key.size + 8));
    CAIRN_TRY(cairn__buf_append(b, user_key.data, user_key.size));
    return cairn__put_fixed64(b, cairn__ikey_tag(seq, type));
}

/* 1 if ikey is well formed (>= 8 bytes, type 0 or 1), filling *out. */
static inline int cairn__ikey_parse(cairn__slice ikey, cairn__pikey *out)
{
    if (ikey.size < 8)
        return 0;
    uint64_t tag = cairn__decode_fixed64(ikey.data + ikey.size - 8);
    int type = (int)(tag & 0xff);
    if (type > CAIRN__TYPE_VALUE)
        return 0;
    out->user_key = cairn__slice_make(ikey.data, ikey.size - 8);
    out->seq = tag >> 8;
    out->type = type;
    return 1;
}

/* The user-key part; ikey must be >= 8 bytes. */
static inline cairn__slice cairn__ikey_user(cairn__slice ikey)
{
    return cairn__slice_make(ikey.data, ikey.size - 8);
}

static inline uint64_t cairn__ikey_tag_of(cairn__slice ikey)
{
    return cairn__decode_fixed64(ikey.data + ikey.size - 8);
}

/* InternalKeyComparator. Both keys must be >= 8 bytes. */
static inline int cairn__ikey_compare(cairn__slice a, cairn__slice b)
{
    int r = cairn__slice_compare(cairn__ikey_user(a), cairn__ikey_user(b));
    if (r == 0) {
        uint64_t ta = cairn__ikey_tag_of(a), tb = cairn__ikey_tag_of(b);
        if (ta > tb)
            r = -1;
        else if (ta < tb)
            r = 1;
    }
    return r;
}

#define CAIRN__COMPARATOR_NAME "leveldb.BytewiseComparator"

#endif
