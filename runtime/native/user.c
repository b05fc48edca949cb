#include "user.h"

#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

static int drop_bounding_set(void)
{
	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
			break; /* past the last capability this kernel knows */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return PLOG("prctl(PR_CAPBSET_DROP, %d)", cap), -1;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return PLOG("prctl(PR_CAP_AMBIENT_CLEAR_ALL)"), -1;
	return 0;
}

static int switch_ids(unsigned uid, unsigned gid)
{
	gid_t groups[1] = { gid };
	if (setgroups(1, groups) < 0)
		return PLOG("setgroups(%u)", gid), -1;
	if (setresgid(gid, gid, gid) < 0)
		return PLOG("setresgid(%u)", gid), -1;
	if (setresuid(uid, uid, uid) < 0)
		return PLOG("setresuid(%u)", uid), -1;
	return 0;
}

/* Read everything back (bubblewrap's habit): a silent partial drop must not go unnoticed. */
static int verify_dropped(unsigned uid, unsigned gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0)
		return PLOG("getres[ug]id"), -1;
	if (r != uid || e != uid || s != uid || rg != gid || eg != gid || sg != gid) {
		LOG("identity is %u/%u/%u:%u/%u/%u, wanted %u:%u", r, e, s, rg, eg, sg, uid, gid);
		return -1;
	}
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return PLOG("capget"), -1;
	for (int i = 0; i < 2; i++) {
		if (data[i].effective || data[i].permitted || data[i].inheritable) {
			LOG("capabilities left after the uid switch");
			return -1;
		}
	}
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0) {
		LOG("CAP_SYS_ADMIN still in the bounding set");
		return -1;
	}
	return 0;
}

int user_drop_privileges(const struct setup_spec *s)
{
	/* Locked securebits: no root-uid magic may ever give capabilities back (needs CAP_SETPCAP). */
	int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED |
		   SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
	if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
		return PLOG("prctl(PR_SET_SECUREBITS)"), -1;
	TRY(drop_bounding_set());
	TRY(switch_ids(s->uid, s->gid));
	TRY(verify_dropped(s->uid, s->gid));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return PLOG("prctl(PR_SET_NO_NEW_PRIVS)"), -1;
	return 0;
}
