/*
 * mamori-service.exe: runs the mamori agent (node.exe + mamori-agent.mjs, next to this file) as
 * a real Windows service under LocalSystem.
 *
 * Why a host: node.exe does not speak the Service Control Manager protocol
 * (StartServiceCtrlDispatcher), so the SCM would kill it after 30 s (error 1053). No service
 * wrapper ships in the npm registry's Windows Node package, so this small host is built from
 * source with Debian's mingw-w64 cross compiler by scripts/package.mjs.
 *
 * Command line (the MSI's ServiceInstall Arguments):
 *   mamori-service.exe [--console-log FILE] -- ARGS…
 * starts  "<dir>\node.exe" "<dir>\mamori-agent.mjs" ARGS…  with ARGS passed on verbatim.
 *
 *   mamori-service.exe --quote-service-path
 * (run once by the MSI after InstallServices) puts the service's executable path in quotes.
 *
 *   mamori-service.exe --detach -- PROGRAM ARGS…
 * starts PROGRAM ARGS… (verbatim) outside the service's job object, with this process's standard
 * output and error, and returns at once: 0 started, 2 not. The agent starts its update guard this
 * way (agent/update/updater.ts): msiexec stops the service during an upgrade, and the end of the
 * service's job ends every process still in it.
 *
 * Behaviour:
 *  - the agent gets MAMORI_SERVICE_HOST=1 and a pipe as standard input; to stop it (service
 *    stop, system shutdown) the host closes that pipe, which the agent treats like SIGTERM
 *    (src/cli/agent-main.ts). After 15 s the host ends it through its job object.
 *  - the agent is in a job object with KILL_ON_JOB_CLOSE, so it never outlives the host. The job
 *    allows breakaway only to a process that asks for it (CREATE_BREAKAWAY_FROM_JOB, --detach
 *    above); the probes the agent runs do not ask and stay in it.
 *  - when the agent exits on its own, the service stops with a service-specific error; the
 *    failure actions the host sets on its own service at every start (restart after 5 s,
 *    10 s, 60 s; counter reset after a day; also on non-crash failures) make the SCM start it
 *    again: the equivalent of systemd's Restart=always.
 *  - without an SCM (started from a console) it runs the agent in the foreground, for support.
 * Standard output and error of the agent go to --console-log (appended), else to NUL.
 *
 * Windows API references: "Service Program Tutorial", ChangeServiceConfig2W /
 * SERVICE_FAILURE_ACTIONS_FLAG, CreateProcessW, Job Objects (Microsoft Learn).
 */
#define WIN32_LEAN_AND_MEAN
#ifndef UNICODE
#define UNICODE
#endif
#ifndef _UNICODE
#define _UNICODE
#endif
#include <windows.h>
#include <shellapi.h>
#include <stdio.h>
#include <wchar.h>

#define SERVICE_NAME L"mamori-agent"
#define STOP_WAIT_MS 15000
#define CMD_MAX 32768

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
static HANDLE stop_event;

static void report(DWORD state, DWORD win32_exit, DWORD specific_exit, DWORD wait_hint) {
	static DWORD checkpoint = 1;
	status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
	status.dwCurrentState = state;
	status.dwWin32ExitCode = win32_exit;
	status.dwServiceSpecificExitCode = specific_exit;
	status.dwWaitHint = wait_hint;
	status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
	status.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : checkpoint++;
	if (status_handle) SetServiceStatus(status_handle, &status);
}

static DWORD WINAPI control_handler(DWORD control, DWORD event_type, LPVOID event_data, LPVOID context) {
	(void)event_type; (void)event_data; (void)context;
	switch (control) {
	case SERVICE_CONTROL_STOP:
	case SERVICE_CONTROL_SHUTDOWN:
		report(SERVICE_STOP_PENDING, NO_ERROR, 0, STOP_WAIT_MS + 5000);
		SetEvent(stop_event);
		return NO_ERROR;
	case SERVICE_CONTROL_INTERROGATE:
		return NO_ERROR;
	default:
		return ERROR_CALL_NOT_IMPLEMENTED;
	}
}

/* Restart policy of this service, set by the service itself so every install path gets it. */
static void set_failure_actions(void) {
	SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
	if (!scm) return;
	SC_HANDLE svc = OpenServiceW(scm, SERVICE_NAME, SERVICE_CHANGE_CONFIG | SERVICE_START);
	if (svc) {
		SC_ACTION actions[3] = {{SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 10000}, {SC_ACTION_RESTART, 60000}};
		SERVICE_FAILURE_ACTIONSW fa = {86400, NULL, NULL, 3, actions};
		SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
		ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa);
		ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag);
		CloseServiceHandle(svc);
	}
	CloseServiceHandle(scm);
}

/*
 * --quote-service-path: Windows Installer's ServiceInstall writes the image path as
 * "<file path> <arguments>" without quotes (wine: dlls/msi/action.c, ITERATE_InstallService),
 * and an unquoted path with spaces ("C:\Program Files\mamori\…") lets a C:\Program.exe start
 * as LocalSystem (unquoted service path, CWE-428). Rewrites it with our own path in quotes via
 * ChangeServiceConfigW, which updates both the SCM database and the registry. 0 = quoted.
 */
static int quote_service_path(void) {
	int rc = 1;
	SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
	if (!scm) return rc;
	SC_HANDLE svc = OpenServiceW(scm, SERVICE_NAME, SERVICE_QUERY_CONFIG | SERVICE_CHANGE_CONFIG);
	if (svc) {
		DWORD needed = 0;
		QueryServiceConfigW(svc, NULL, 0, &needed);
		QUERY_SERVICE_CONFIGW *config = needed ? HeapAlloc(GetProcessHeap(), 0, needed) : NULL;
		wchar_t self[MAX_PATH];
		DWORD n = GetModuleFileNameW(NULL, self, MAX_PATH);
		if (config && QueryServiceConfigW(svc, config, needed, &needed) && n > 0 && n < MAX_PATH) {
			const wchar_t *path = config->lpBinaryPathName;
			if (path[0] == L'"') {
				rc = 0; /* already quoted (as Windows Installer may do itself) */
			} else if (_wcsnicmp(path, self, n) == 0 && (path[n] == L' ' || path[n] == L'\0')) {
				static wchar_t quoted[CMD_MAX];
				if (_snwprintf(quoted, CMD_MAX - 1, L"\"%ls\"%ls", self, path + n) > 0 &&
				    ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, quoted, NULL, NULL, NULL, NULL, NULL, NULL))
					rc = 0;
			}
		}
		if (config) HeapFree(GetProcessHeap(), 0, config);
		CloseServiceHandle(svc);
	}
	CloseServiceHandle(scm);
	return rc;
}

/* The part of our own command line after " -- ", passed to node verbatim (no re-quoting). */
static const wchar_t *agent_args(const wchar_t *cmdline) {
	const wchar_t *sep = wcsstr(cmdline, L" -- ");
	if (sep) return sep + 4;
	size_t n = wcslen(cmdline);
	if (n >= 3 && wcscmp(cmdline + n - 3, L" --") == 0) return L"";
	return NULL;
}

/* --console-log FILE from the host's own options (before " -- "), or NULL. */
static wchar_t *console_log_path(const wchar_t *cmdline) {
	static wchar_t path[MAX_PATH];
	int argc = 0;
	LPWSTR *argv = CommandLineToArgvW(cmdline, &argc);
	if (!argv) return NULL;
	wchar_t *found = NULL;
	for (int i = 1; i + 1 < argc && wcscmp(argv[i], L"--") != 0; i++) {
		if (wcscmp(argv[i], L"--console-log") == 0 && wcslen(argv[i + 1]) < MAX_PATH) {
			wcscpy(path, argv[i + 1]);
			found = path;
			break;
		}
	}
	LocalFree(argv);
	return found;
}

static HANDLE open_console_log(const wchar_t *path) {
	SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
	if (path) {
		wchar_t dir[MAX_PATH];
		wcscpy(dir, path);
		wchar_t *slash = wcsrchr(dir, L'\\');
		if (slash) {
			*slash = 0;
			CreateDirectoryW(dir, NULL); /* inherits the state directory's SYSTEM/Administrators ACL */
		}
		HANDLE h = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
		if (h != INVALID_HANDLE_VALUE) return h;
	}
	return CreateFileW(L"NUL", GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
}

/*
 * Start the agent and wait until it exits or `stop` is signalled.
 * Returns the agent's exit code, or -1 when it was stopped on request, or -2 when it could not start.
 */
static long run_agent(HANDLE stop) {
	const wchar_t *cmdline = GetCommandLineW();
	const wchar_t *args = agent_args(cmdline);
	if (!args) {
		fwprintf(stderr, L"usage: mamori-service.exe [--console-log FILE] -- ARGS...\n");
		return -2;
	}
	wchar_t dir[MAX_PATH];
	DWORD len = GetModuleFileNameW(NULL, dir, MAX_PATH);
	if (len == 0 || len >= MAX_PATH) return -2;
	wchar_t *slash = wcsrchr(dir, L'\\');
	if (slash) *slash = 0;

	static wchar_t command[CMD_MAX];
	/* Same flags as the Linux unit: a small young generation, size-optimised code, no optimising compiler (lite mode) and bytecode dropped sooner when unused, for a mostly idle daemon; Node's bundled public root certificates left unloaded (the agent trusts only its collector's CA; see the unit). */
	if (_snwprintf(command, CMD_MAX, L"\"%ls\\node.exe\" --max-semi-space-size=1 --optimize-for-size --lite-mode --bytecode-old-age=3 --use-openssl-ca \"%ls\\mamori-agent.mjs\" %ls", dir, dir, args) < 0) return -2;

	SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
	HANDLE stdin_read, stdin_write;
	if (!CreatePipe(&stdin_read, &stdin_write, &sa, 0)) return -2;
	SetHandleInformation(stdin_write, HANDLE_FLAG_INHERIT, 0);
	HANDLE out = open_console_log(console_log_path(cmdline));

	HANDLE job = CreateJobObjectW(NULL, NULL);
	if (job) {
		JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
		ZeroMemory(&limits, sizeof(limits));
		limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK;
		SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof(limits));
	}

	SetEnvironmentVariableW(L"MAMORI_SERVICE_HOST", L"1");
	STARTUPINFOW si;
	ZeroMemory(&si, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = stdin_read;
	si.hStdOutput = out;
	si.hStdError = out;
	PROCESS_INFORMATION pi;
	BOOL started = CreateProcessW(NULL, command, NULL, NULL, TRUE, CREATE_SUSPENDED | CREATE_NO_WINDOW | CREATE_UNICODE_ENVIRONMENT, NULL, dir, &si, &pi);
	CloseHandle(stdin_read);
	if (out != INVALID_HANDLE_VALUE) CloseHandle(out);
	if (!started) {
		CloseHandle(stdin_write);
		if (job) CloseHandle(job);
		return -2;
	}
	if (job) AssignProcessToJobObject(job, pi.hProcess);
	ResumeThread(pi.hThread);
	CloseHandle(pi.hThread);

	report(SERVICE_RUNNING, NO_ERROR, 0, 0);
	HANDLE waits[2] = {pi.hProcess, stop};
	DWORD which = WaitForMultipleObjects(stop ? 2 : 1, waits, FALSE, INFINITE);
	long result;
	if (which == WAIT_OBJECT_0) {
		DWORD code = 1;
		GetExitCodeProcess(pi.hProcess, &code);
		result = (long)code;
	} else {
		CloseHandle(stdin_write); /* asks the agent to stop */
		stdin_write = NULL;
		if (WaitForSingleObject(pi.hProcess, STOP_WAIT_MS) != WAIT_OBJECT_0) {
			if (job) TerminateJobObject(job, 1);
			else TerminateProcess(pi.hProcess, 1);
		}
		result = -1;
	}
	if (stdin_write) CloseHandle(stdin_write);
	CloseHandle(pi.hProcess);
	if (job) CloseHandle(job);
	return result;
}

/* --detach -- PROGRAM ARGS…: see the file comment. */
static int detach(void) {
	const wchar_t *args = agent_args(GetCommandLineW());
	if (!args || !*args) return 2;
	static wchar_t command[CMD_MAX];
	if (wcslen(args) >= CMD_MAX) return 2;
	wcscpy(command, args);
	STARTUPINFOW si;
	ZeroMemory(&si, sizeof(si));
	si.cb = sizeof(si);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = NULL;
	si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
	si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
	PROCESS_INFORMATION pi;
	if (!CreateProcessW(NULL, command, NULL, NULL, TRUE, CREATE_BREAKAWAY_FROM_JOB | DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT, NULL, NULL, &si, &pi)) return 2;
	CloseHandle(pi.hThread);
	CloseHandle(pi.hProcess);
	return 0;
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv) {
	(void)argc; (void)argv;
	status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
	if (!status_handle) return;
	report(SERVICE_START_PENDING, NO_ERROR, 0, 10000);
	stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	set_failure_actions();
	long result = run_agent(stop_event);
	if (result == -1) report(SERVICE_STOPPED, NO_ERROR, 0, 0);
	/* Any exit that was not asked for is a failure, so the SCM's failure actions restart it. */
	else report(SERVICE_STOPPED, ERROR_SERVICE_SPECIFIC_ERROR, result == -2 ? 2 : (result == 0 ? 1 : (DWORD)result), 0);
}

static BOOL WINAPI console_ctrl(DWORD type) {
	(void)type;
	SetEvent(stop_event);
	return TRUE;
}

int wmain(int argc, wchar_t **argv) {
	if (argc == 2 && wcscmp(argv[1], L"--quote-service-path") == 0) return quote_service_path();
	if (argc >= 3 && wcscmp(argv[1], L"--detach") == 0) return detach();
	SERVICE_TABLE_ENTRYW table[] = {{SERVICE_NAME, service_main}, {NULL, NULL}};
	if (StartServiceCtrlDispatcherW(table)) return 0;
	if (GetLastError() != ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) return 1;
	/* Started from a console: run in the foreground; Ctrl+C stops the agent the same way. */
	stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	SetConsoleCtrlHandler(console_ctrl, TRUE);
	long result = run_agent(stop_event);
	return result == -1 ? 0 : (result < 0 ? 2 : (int)result);
}
