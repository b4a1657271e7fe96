/*
 * uvm_amap_check.cc: consistency checking and ppref decoding for amaps.
 *
 * not part of uvm_amap.c: this is the checker the test suite runs after
 * every step and the decoder the debugger's pretty-printer uses.
 */

#include "opt_uvmhist.h"

#include <sys/param.h>
#include <sys/systm.h>
#include <stdarg.h>
#include <stdio.h>

#include <uvm/uvm.h>

static int
amap_check_fail(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((__format__(__printf__, 3, 4)));

static int
amap_check_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * amap_pp_decode: walk the ppref encoding from slot 0.  a run of length 1
 * is stored as ref + 1 (> 0); a longer run as -(ref + 1) followed by its
 * length.  the walk must land exactly on am_nslot.
 */
int
amap_pp_decode(const struct vm_amap *amap, struct amap_pp_run *runs,
    int maxruns)
{
	const int *ppref = amap->am_ppref;
	int lcv, ref, len, nruns;

	if (ppref == NULL || ppref == PPREF_NONE)
		return -1;
	nruns = 0;
	for (lcv = 0; lcv < amap->am_nslot; lcv += len) {
		if (ppref[lcv] > 0) {
			ref = ppref[lcv] - 1;
			len = 1;
		} else {
			if (lcv + 1 >= amap->am_maxslot)
				return -1;
			ref = -ppref[lcv] - 1;
			len = ppref[lcv + 1];
			if (ppref[lcv] == 0 || len <= 1)
				return -1;	/* 0 and -x/1 never encode */
		}
		if (lcv + len > amap->am_nslot)
			return -1;
		if (nruns < maxruns) {
			runs[nruns].pr_slot = lcv;
			runs[nruns].pr_len = len;
			runs[nruns].pr_ref = ref;
		}
		nruns++;
	}
	return nruns;
}

int
amap_check(const struct vm_amap *amap, char *why, size_t whylen)
{
	int slot, lcv, nused, nruns, i;
	struct vm_anon *anon;
	struct amap_pp_run *runs;

	if (amap->am_ref <= 0)
		return amap_check_fail(why, whylen, "am_ref %d <= 0",
		    amap->am_ref);
	if (amap->am_nslot < 0 || amap->am_nslot > amap->am_maxslot)
		return amap_check_fail(why, whylen,
		    "am_nslot %d outside [0, am_maxslot %d]",
		    amap->am_nslot, amap->am_maxslot);
	if (amap->am_nused < 0 || amap->am_nused > amap->am_nslot)
		return amap_check_fail(why, whylen,
		    "am_nused %d outside [0, am_nslot %d]",
		    amap->am_nused, amap->am_nslot);

	/* anons live only in [0, am_maxslot) and point back into am_slots */
	nused = 0;
	for (slot = 0; slot < amap->am_maxslot; slot++) {
		anon = amap->am_anon[slot];
		if (anon == NULL)
			continue;
		if (slot >= amap->am_nslot)
			return amap_check_fail(why, whylen,
			    "anon %p at slot %d beyond am_nslot %d",
			    (void *)anon, slot, amap->am_nslot);
		nused++;
		lcv = amap->am_bckptr[slot];
		if (lcv < 0 || lcv >= amap->am_nused ||
		    amap->am_slots[lcv] != slot)
			return amap_check_fail(why, whylen,
			    "slot %d: am_bckptr %d does not lead back "
			    "(am_nused %d)", slot, lcv, amap->am_nused);
		if (anon->an_ref <= 0)
			return amap_check_fail(why, whylen,
			    "slot %d: anon %p has an_ref %d",
			    slot, (void *)anon, anon->an_ref);
	}
	if (nused != amap->am_nused)
		return amap_check_fail(why, whylen,
		    "am_nused %d but %d slots hold anons",
		    amap->am_nused, nused);

	/* am_slots[0 .. am_nused) are distinct used slots < am_nslot */
	for (lcv = 0; lcv < amap->am_nused; lcv++) {
		slot = amap->am_slots[lcv];
		if (slot < 0 || slot >= amap->am_nslot)
			return amap_check_fail(why, whylen,
			    "am_slots[%d] = %d outside [0, am_nslot %d)",
			    lcv, slot, amap->am_nslot);
		if (amap->am_anon[slot] == NULL)
			return amap_check_fail(why, whylen,
			    "am_slots[%d] = %d names an empty slot", lcv, slot);
		if (amap->am_bckptr[slot] != lcv)
			return amap_check_fail(why, whylen,
			    "am_slots[%d] = %d repeated (am_bckptr says %d)",
			    lcv, slot, amap->am_bckptr[slot]);
	}

	if (amap->am_ppref == NULL || amap->am_ppref == PPREF_NONE)
		return 0;

	/* an established ppref decodes into runs tiling [0, am_nslot) */
	nruns = amap_pp_decode(amap, NULL, 0);
	if (nruns < 0)
		return amap_check_fail(why, whylen,
		    "ppref is malformed (does not tile [0, %d))",
		    amap->am_nslot);
	runs = (struct amap_pp_run *)kmem_alloc(
	    (nruns + 1) * sizeof(*runs), KM_SLEEP);
	amap_pp_decode(amap, runs, nruns);
	for (i = 0; i < nruns; i++) {
		if (runs[i].pr_ref < 0 || runs[i].pr_ref > amap->am_ref) {
			int s = runs[i].pr_slot, l = runs[i].pr_len;
			int r = runs[i].pr_ref;

			kmem_free(runs, (nruns + 1) * sizeof(*runs));
			return amap_check_fail(why, whylen,
			    "ppref run [%d,%d) has ref %d outside [0, am_ref %d]",
			    s, s + l, r, amap->am_ref);
		}
	}
	kmem_free(runs, (nruns + 1) * sizeof(*runs));
	return 0;
}
