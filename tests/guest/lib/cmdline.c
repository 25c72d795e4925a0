/*
 * cmdline.c - "key=value" words of the PVH command line.
 */
#include "guest.h"

const char *guest_cmdline_get(const char *key, size_t *len)
{
	size_t klen = strlen(key);
	const char *p = guest_cmdline();

	while (*p) {
		const char *word = p;
		size_t wlen = 0;

		while (word[wlen] && word[wlen] != ' ')
			wlen++;
		if (wlen > klen && word[klen] == '=') {
			size_t i = 0;

			while (i < klen && word[i] == key[i])
				i++;
			if (i == klen) {
				if (len)
					*len = wlen - klen - 1;
				return word + klen + 1;
			}
		}
		p = word + wlen;
		while (*p == ' ')
			p++;
	}
	return NULL;
}

unsigned long guest_cmdline_ulong(const char *key, unsigned long dflt)
{
	size_t len, i = 0;
	const char *v = guest_cmdline_get(key, &len);
	unsigned long base = 10, n = 0;

	if (!v || !len)
		return dflt;
	if (len > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		base = 16;
		i = 2;
	}
	for (; i < len; i++) {
		char c = v[i];
		unsigned long d;

		if (c >= '0' && c <= '9')
			d = (unsigned long)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned long)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned long)(c - 'A' + 10);
		else
			return dflt;
		n = n * base + d;
	}
	return n;
}
