#define _GNU_SOURCE
#include "ph_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The Landlock UAPI, spelled out here so that older kernel headers still build this file. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define PH_LL_CREATE_RULESET_VERSION (1U << 0)
#define PH_LL_RULE_PATH_BENEATH 1

#define PH_LL_FS_EXECUTE (1ULL << 0)
#define PH_LL_FS_WRITE_FILE (1ULL << 1)
#define PH_LL_FS_READ_FILE (1ULL << 2)
#define PH_LL_FS_READ_DIR (1ULL << 3)
#define PH_LL_FS_REFER (1ULL << 13)
#define PH_LL_FS_TRUNCATE (1ULL << 14)
#define PH_LL_FS_IOCTL_DEV (1ULL << 15)
#define PH_LL_NET_BIND_TCP (1ULL << 0)
#define PH_LL_NET_CONNECT_TCP (1ULL << 1)
#define PH_LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define PH_LL_SCOPE_SIGNAL (1ULL << 1)

struct ph_ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ph_ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

static int set_limit(int resource, uint64_t value) {
    struct rlimit r = {(rlim_t)value, (rlim_t)value};
    struct rlimit current;
    if (getrlimit(resource, &current) == 0 && current.rlim_max != RLIM_INFINITY && current.rlim_max < r.rlim_max) {
        r.rlim_cur = r.rlim_max = current.rlim_max; /* cannot raise the hard limit */
    }
    return setrlimit(resource, &r) == 0 ? 0 : -errno;
}

int ph_rt_apply_limits(const ph_rt_limits *limits, const char **what) {
    int rc;
    if (limits->address_space_bytes && (rc = set_limit(RLIMIT_AS, limits->address_space_bytes)) != 0) {
        *what = "setrlimit(RLIMIT_AS)";
        return rc;
    }
    if (limits->cpu_seconds && (rc = set_limit(RLIMIT_CPU, limits->cpu_seconds)) != 0) {
        *what = "setrlimit(RLIMIT_CPU)";
        return rc;
    }
    if (limits->open_files && (rc = set_limit(RLIMIT_NOFILE, limits->open_files)) != 0) {
        *what = "setrlimit(RLIMIT_NOFILE)";
        return rc;
    }
    if ((rc = set_limit(RLIMIT_CORE, 0)) != 0) {
        *what = "setrlimit(RLIMIT_CORE)";
        return rc;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        *what = "prctl(PR_SET_NO_NEW_PRIVS)";
        return -errno;
    }
    return 0;
}

int ph_rt_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, PH_LL_CREATE_RULESET_VERSION);
    return abi < 0 ? 0 : (int)abi;
}

static uint64_t fs_rights(int abi) {
    uint64_t all = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2) all |= PH_LL_FS_REFER;
    if (abi >= 3) all |= PH_LL_FS_TRUNCATE;
    if (abi >= 5) all |= PH_LL_FS_IOCTL_DEV;
    return all;
}

static int add_path(int ruleset, const char *path, uint64_t access, const char **what) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 0; /* a granted path that does not exist grants nothing */
        *what = path;
        return -errno;
    }
    struct ph_ll_path_beneath_attr rule = {access, fd};
    long rc = syscall(SYS_landlock_add_rule, ruleset, PH_LL_RULE_PATH_BENEATH, &rule, 0);
    int err = errno;
    close(fd);
    if (rc != 0 && err == EINVAL) {
        /* A file (not a directory): directory-only rights do not apply to it. */
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0) return 0;
        rule.allowed_access = access & (PH_LL_FS_EXECUTE | PH_LL_FS_WRITE_FILE | PH_LL_FS_READ_FILE |
                                        PH_LL_FS_TRUNCATE | PH_LL_FS_IOCTL_DEV);
        rule.parent_fd = fd;
        rc = syscall(SYS_landlock_add_rule, ruleset, PH_LL_RULE_PATH_BENEATH, &rule, 0);
        err = errno;
        close(fd);
    }
    if (rc != 0) {
        *what = path;
        return -err;
    }
    return 0;
}

int ph_rt_landlock_restrict(const char *const *readable, size_t readable_count, const char *const *writable,
                            size_t writable_count, int allow_network, const char **what) {
    int abi = ph_rt_landlock_abi();
    if (abi <= 0) return 0;
    uint64_t all = fs_rights(abi);
    struct ph_ll_ruleset_attr attr = {all, 0, 0};
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
        size = 2 * sizeof(uint64_t);
        if (!allow_network) attr.handled_access_net = PH_LL_NET_BIND_TCP | PH_LL_NET_CONNECT_TCP;
    }
    if (abi >= 6) {
        size = sizeof(attr);
        attr.scoped = PH_LL_SCOPE_SIGNAL | (allow_network ? 0 : PH_LL_SCOPE_ABSTRACT_UNIX_SOCKET);
    }
    int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
    if (ruleset < 0) {
        *what = "landlock_create_ruleset";
        return -errno;
    }
    int rc;
    uint64_t read_only = PH_LL_FS_EXECUTE | PH_LL_FS_READ_FILE | PH_LL_FS_READ_DIR;
    for (size_t i = 0; i < readable_count; i++) {
        if ((rc = add_path(ruleset, readable[i], read_only, what)) != 0) goto out;
    }
    if ((rc = add_path(ruleset, "/dev/null", read_only | PH_LL_FS_WRITE_FILE, what)) != 0) goto out;
    for (size_t i = 0; i < writable_count; i++) {
        if ((rc = add_path(ruleset, writable[i], all, what)) != 0) goto out;
    }
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
        *what = "landlock_restrict_self";
        rc = -errno;
        goto out;
    }
    rc = abi;
out:
    close(ruleset);
    return rc;
}
