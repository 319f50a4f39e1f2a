#include "utf8.h"

#include <string.h>

static bool continuation(unsigned char byte)
{
    return (byte & 0xC0) == 0x80;
}

size_t utf8_sequence_length(const unsigned char *text, size_t length)
{
    if (length == 0)
        return 0;
    unsigned char first = text[0];
    if (first < 0x80)
        return 1;
    size_t needed;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (first >= 0xC2 && first <= 0xDF) {
        needed = 2;
    } else if (first >= 0xE0 && first <= 0xEF) {
        needed = 3;
        if (first == 0xE0)
            second_min = 0xA0; /* shorter forms are overlong */
        else if (first == 0xED)
            second_max = 0x9F; /* U+D800..U+DFFF are surrogates */
    } else if (first >= 0xF0 && first <= 0xF4) {
        needed = 4;
        if (first == 0xF0)
            second_min = 0x90;
        else if (first == 0xF4)
            second_max = 0x8F; /* beyond U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong) or F5..FF */
    }
    if (length < needed || text[1] < second_min || text[1] > second_max)
        return 0;
    for (size_t i = 2; i < needed; i++)
        if (!continuation(text[i]))
            return 0;
    return needed;
}

size_t utf8_copy_valid(char *out, size_t out_size, const char *in)
{
    const unsigned char *text = (const unsigned char *)in;
    size_t remaining = strlen(in), written = 0;
    while (remaining > 0) {
        size_t sequence = utf8_sequence_length(text, remaining);
        size_t take = sequence > 0 ? sequence : 1;
        if (written + take >= out_size)
            break;
        if (sequence > 0)
            memcpy(out + written, text, sequence);
        else
            out[written] = '?';
        written += take;
        text += take;
        remaining -= take;
    }
    out[written] = '\0';
    return written;
}
