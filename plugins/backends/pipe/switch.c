/* SPDX-License-Identifier: MIT */
/*
 * `switch = NAME`: this end's pipe is port NAME.PIPE of learning switch NAME
 * (tools/switch).  The switch finds the pipe by itself (it watches the pipe
 * folder); all this does is start the switch when none of that name is
 * running, as its own process (`modvmm-switch --daemon NAME`: it returns once
 * the switch listens, and the switch outlives this VM).
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipe.h"

extern char **environ;

bool pipe_switch_name_ok(const char *sw)
{
	size_t n = strlen(sw);

	if (n == 0 || n >= PIPE_SWITCH_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((sw[i] >= 'a' && sw[i] <= 'z') || (sw[i] >= 'A' && sw[i] <= 'Z') ||
		      (sw[i] >= '0' && sw[i] <= '9') || sw[i] == '_' || sw[i] == '-'))
			return false;
	return true;
}

/* The switch answers on RUNDIR/switch/NAME.sock. */
static bool running(const char *sw)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char dir[sizeof(a.sun_path)];
	bool up = false;
	int fd;

	if (nmport_rundir(dir, sizeof(dir)) < 0 ||
	    snprintf(a.sun_path, sizeof(a.sun_path), "%.*s/switch/%s.sock",
		     (int)(sizeof(dir) - PIPE_SWITCH_NAME_MAX - 16), dir, sw) >= (int)sizeof(a.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	up = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return up;
}

int pipe_switch_ensure(struct pipe_be *p)
{
	const char *cmd = getenv("MODVMM_SWITCH");
	char *argv[] = { NULL, "--daemon", "--quiet", p->switch_name, NULL };
	pid_t pid;
	int st, err;

	if (running(p->switch_name))
		return 0;
	if (!cmd || !*cmd)
		cmd = MODVMM_SWITCH_PATH;
	argv[0] = (char *)cmd;
	err = posix_spawnp(&pid, cmd, NULL, NULL, argv, environ);
	if (err) {
		p->host->log(p->dev, MODVMM_LOG_ERROR, "pipe %s: cannot start %s: %s (set MODVMM_SWITCH)",
			     p->name, cmd, strerror(err));
		return -err;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	/* status 3: another start of the same switch won the race: fine */
	if (!WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 3)) {
		p->host->log(p->dev, MODVMM_LOG_ERROR, "pipe %s: %s %s failed (status %d)", p->name,
			     cmd, p->switch_name, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		return -ECHILD;
	}
	p->host->log(p->dev, MODVMM_LOG_INFO, "pipe %s: started switch %s", p->name, p->switch_name);
	return 0;
}
