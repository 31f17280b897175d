/*
 * mamori-notice.exe: shows the agent's Japanese notice to the people logged on to this PC.
 *
 * Why a separate program: the agent is a LocalSystem service in session 0, which has no
 * desktop anyone sees ("Session 0 isolation"); node.exe cannot call the WTS functions. This
 * program, started by the agent (and so also LocalSystem), lists the sessions and starts a copy
 * of itself in a user's session with that user's token, which shows the notice there.
 * Built from source with Debian's mingw-w64 cross compiler by scripts/package.mjs, like
 * mamori-service.exe.
 *
 *   mamori-notice.exe sessions
 *     One line per session of WTSEnumerateSessionsW, tab-separated, UTF-8, language-neutral
 *     (numbers, not the localised words of `query session`):
 *       session <TAB> id <TAB> state <TAB> protocol <TAB> winstation <TAB> domain <TAB> user
 *     state: WTS_CONNECTSTATE_CLASS (0 WTSActive, 1 Connected, 2 ConnectQuery, 3 Shadow,
 *     4 Disconnected, 5 Idle, 6 Listen, 7 Reset, 8 Down, 9 Init); protocol: WTSClientProtocolType
 *     (0 console, 1 ICA, 2 RDP). The first line is "mamori-notice sessions 1" (format version).
 *
 *   mamori-notice.exe show-in ID   (notice on standard input: UTF-8, first line title, then body)
 *     WTSQueryUserToken(ID) -> CreateEnvironmentBlock -> CreateProcessAsUserW(this program
 *     "show", desktop winsta0\default) with the notice on the child's standard input, then waits
 *     up to 30 s for the child to say how it showed it. Prints one line:
 *       shown <TAB> toast|window          the notice is on the user's screen
 *       started <TAB> PID                 the child runs but said nothing within 30 s
 *       failed <TAB> STEP <TAB> ERROR     STEP: the Windows function that failed, ERROR: GetLastError()
 *     Exit code 0 for shown/started, 2 for failed, 64 for bad arguments.
 *
 *   mamori-notice.exe show   (in the user's session, notice on standard input)
 *     A toast (Windows.UI.Notifications through PowerShell, under PowerShell's own application id)
 *     unless toasts are turned off (policy NoToastApplicationNotification, or the user's
 *     ToastEnabled = 0) or the toast cannot be raised; else a plain message window. The window
 *     waits while a full-screen program or presentation runs (SHQueryUserNotificationState) so
 *     it never takes the keyboard from it, and never asks for the foreground. Prints
 *     "shown toast" / "shown window" on standard output before the window waits for OK.
 *
 * Windows API references (Microsoft Learn): WTSEnumerateSessionsW, WTS_SESSION_INFOW,
 * WTS_CONNECTSTATE_CLASS, WTSQuerySessionInformationW / WTS_INFO_CLASS (WTSUserName,
 * WTSDomainName, WTSClientProtocolType), WTSQueryUserToken ("only ... running in the context of
 * the LocalSystem account"), CreateProcessAsUserW / STARTUPINFOW.lpDesktop, CreateEnvironmentBlock,
 * SHQueryUserNotificationState / QUERY_USER_NOTIFICATION_STATE, MessageBoxW; "Toast notification
 * group policy" (NoToastApplicationNotification under Software\Policies\Microsoft\Windows\
 * CurrentVersion\PushNotifications).
 */
#define WIN32_LEAN_AND_MEAN
#ifndef UNICODE
#define UNICODE
#endif
#ifndef _UNICODE
#define _UNICODE
#endif
#include <windows.h>
#include <wtsapi32.h>
#include <userenv.h>
#include <shellapi.h>
#include <shlobj.h>
#include <stdio.h>
#include <wchar.h>

#define NOTICE_MAX (64 * 1024)
#define CHILD_SAY_MS 30000
#define FULLSCREEN_WAIT_MAX_MS (30 * 60 * 1000)
#define TOAST_MARK "mamori-toast-shown"

/* Standard output as UTF-8 bytes, whatever the console code page (932 on Japanese Windows). */
static void out_utf8(const wchar_t *s) {
	char buf[2048];
	int n = WideCharToMultiByte(CP_UTF8, 0, s, -1, buf, sizeof buf, NULL, NULL);
	DWORD written;
	if (n > 1) WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), buf, (DWORD)(n - 1), &written, NULL);
}

static void out_line(const wchar_t *fmt, ...) {
	wchar_t line[1024];
	va_list ap;
	va_start(ap, fmt);
	_vsnwprintf(line, 1022, fmt, ap);
	va_end(ap);
	line[1022] = 0;
	wcscat(line, L"\n");
	out_utf8(line);
}

/* A session string, tabs and line breaks replaced so the line format holds. */
static void session_string(DWORD id, WTS_INFO_CLASS what, wchar_t *dst, size_t cap) {
	LPWSTR value = NULL;
	DWORD bytes = 0;
	dst[0] = 0;
	if (WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, id, what, &value, &bytes) && value) {
		wcsncpy(dst, value, cap - 1);
		dst[cap - 1] = 0;
		WTSFreeMemory(value);
	}
	for (wchar_t *p = dst; *p; p++)
		if (*p == L'\t' || *p == L'\r' || *p == L'\n') *p = L' ';
}

static int list_sessions(void) {
	PWTS_SESSION_INFOW sessions = NULL;
	DWORD count = 0;
	if (!WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &sessions, &count)) {
		out_line(L"failed\tWTSEnumerateSessionsW\t%lu", GetLastError());
		return 2;
	}
	out_line(L"mamori-notice sessions 1");
	for (DWORD i = 0; i < count; i++) {
		DWORD id = sessions[i].SessionId;
		wchar_t user[256], domain[256], station[64];
		session_string(id, WTSUserName, user, 256);
		session_string(id, WTSDomainName, domain, 256);
		wcsncpy(station, sessions[i].pWinStationName ? sessions[i].pWinStationName : L"", 63);
		station[63] = 0;
		for (wchar_t *p = station; *p; p++)
			if (*p == L'\t') *p = L' ';
		USHORT *protocol = NULL;
		DWORD bytes = 0;
		int proto = -1;
		if (WTSQuerySessionInformationW(WTS_CURRENT_SERVER_HANDLE, id, WTSClientProtocolType, (LPWSTR *)&protocol, &bytes) && protocol) {
			proto = *protocol;
			WTSFreeMemory(protocol);
		}
		out_line(L"session\t%lu\t%d\t%d\t%ls\t%ls\t%ls", id, (int)sessions[i].State, proto, station, domain, user);
	}
	WTSFreeMemory(sessions);
	return 0;
}

/* Read all of standard input (the notice, UTF-8) into buf; returns its length. */
static DWORD read_stdin(char *buf, DWORD cap) {
	DWORD total = 0, got = 0;
	HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
	while (total < cap - 1 && ReadFile(in, buf + total, cap - 1 - total, &got, NULL) && got > 0) total += got;
	buf[total] = 0;
	return total;
}

/* The child's first line, read on a thread so that show-in can stop waiting after CHILD_SAY_MS. */
struct reader {
	HANDLE pipe;
	BOOL whole; /* read to the end, not only the first line */
	char buf[512];
};

static DWORD WINAPI read_line(LPVOID p) {
	struct reader *r = p;
	DWORD total = 0, got = 0;
	while (total < sizeof r->buf - 1 && ReadFile(r->pipe, r->buf + total, (DWORD)(sizeof r->buf - 1 - total), &got, NULL) && got > 0) {
		total += got;
		r->buf[total] = 0;
		if (!r->whole && strchr(r->buf, '\n')) break;
	}
	r->buf[total] = 0;
	return 0;
}

static int show_in(DWORD session) {
	static char notice[NOTICE_MAX];
	DWORD length = read_stdin(notice, sizeof notice);
	HANDLE user_token = NULL, primary = NULL;
	if (!WTSQueryUserToken(session, &user_token)) {
		out_line(L"failed\tWTSQueryUserToken\t%lu", GetLastError());
		return 2;
	}
	BOOL dup = DuplicateTokenEx(user_token, TOKEN_ALL_ACCESS, NULL, SecurityImpersonation, TokenPrimary, &primary);
	CloseHandle(user_token);
	if (!dup) {
		out_line(L"failed\tDuplicateTokenEx\t%lu", GetLastError());
		return 2;
	}
	LPVOID env = NULL;
	if (!CreateEnvironmentBlock(&env, primary, FALSE)) env = NULL;

	/* Pipes: the notice goes to the child's stdin, its one line comes back on its stdout. */
	SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
	HANDLE in_read, in_write, out_read, out_write;
	if (!CreatePipe(&in_read, &in_write, &inherit, 0) || !CreatePipe(&out_read, &out_write, &inherit, 0)) {
		out_line(L"failed\tCreatePipe\t%lu", GetLastError());
		return 2;
	}
	SetHandleInformation(in_write, HANDLE_FLAG_INHERIT, 0);
	SetHandleInformation(out_read, HANDLE_FLAG_INHERIT, 0);

	wchar_t self[MAX_PATH], cmd[MAX_PATH + 16];
	GetModuleFileNameW(NULL, self, MAX_PATH);
	_snwprintf(cmd, MAX_PATH + 15, L"\"%ls\" show", self);
	cmd[MAX_PATH + 15] = 0;
	STARTUPINFOW si = { 0 };
	si.cb = sizeof si;
	si.lpDesktop = L"winsta0\\default";
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = in_read;
	si.hStdOutput = out_write;
	si.hStdError = out_write;
	PROCESS_INFORMATION pi = { 0 };
	BOOL started = CreateProcessAsUserW(primary, NULL, cmd, NULL, NULL, TRUE, CREATE_UNICODE_ENVIRONMENT | CREATE_NO_WINDOW, env, NULL, &si, &pi);
	DWORD err = GetLastError();
	CloseHandle(in_read);
	CloseHandle(out_write);
	if (env) DestroyEnvironmentBlock(env);
	CloseHandle(primary);
	if (!started) {
		out_line(L"failed\tCreateProcessAsUserW\t%lu", err);
		return 2;
	}
	DWORD written;
	WriteFile(in_write, notice, length, &written, NULL);
	CloseHandle(in_write);

	static struct reader r;
	r.pipe = out_read;
	const char *said = r.buf;
	HANDLE thread = CreateThread(NULL, 0, read_line, &r, 0, NULL);
	DWORD waited = thread ? WaitForSingleObject(thread, CHILD_SAY_MS) : WAIT_FAILED;
	if (waited == WAIT_OBJECT_0 && strncmp(said, "shown ", 6) == 0) {
		wchar_t how[32];
		MultiByteToWideChar(CP_UTF8, 0, said + 6, -1, how, 32);
		how[31] = 0;
		for (wchar_t *p = how; *p; p++)
			if (*p == L'\r' || *p == L'\n') *p = 0;
		out_line(L"shown\t%ls", how);
	} else if (waited == WAIT_OBJECT_0) {
		DWORD code = 0;
		WaitForSingleObject(pi.hProcess, 5000);
		GetExitCodeProcess(pi.hProcess, &code);
		out_line(L"failed\tshow\t%lu", code);
		CloseHandle(pi.hProcess);
		CloseHandle(pi.hThread);
		return 2;
	} else {
		out_line(L"started\t%lu", pi.dwProcessId);
	}
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	return 0;
}

static DWORD reg_dword(HKEY root, const wchar_t *key, const wchar_t *name, DWORD fallback) {
	DWORD value = 0, size = sizeof value;
	if (RegGetValueW(root, key, name, RRF_RT_REG_DWORD, NULL, &value, &size) == ERROR_SUCCESS) return value;
	return fallback;
}

static BOOL toasts_allowed(void) {
	const wchar_t *policy = L"Software\\Policies\\Microsoft\\Windows\\CurrentVersion\\PushNotifications";
	if (reg_dword(HKEY_CURRENT_USER, policy, L"NoToastApplicationNotification", 0) == 1) return FALSE;
	if (reg_dword(HKEY_LOCAL_MACHINE, policy, L"NoToastApplicationNotification", 0) == 1) return FALSE;
	if (reg_dword(HKEY_CURRENT_USER, L"Software\\Microsoft\\Windows\\CurrentVersion\\PushNotifications", L"ToastEnabled", 1) == 0) return FALSE;
	return TRUE;
}

/* Text for an XML element inside a PowerShell single-quoted string: XML-escaped, ' doubled. */
static void append_escaped(wchar_t *dst, size_t cap, const wchar_t *src) {
	size_t n = wcslen(dst);
	for (; *src && n + 8 < cap; src++) {
		const wchar_t *rep = NULL;
		switch (*src) {
		case L'&': rep = L"&amp;"; break;
		case L'<': rep = L"&lt;"; break;
		case L'>': rep = L"&gt;"; break;
		case L'"': rep = L"&quot;"; break;
		case L'\'': rep = L"''"; break;
		case L'\r': continue;
		}
		if (rep) {
			wcscpy(dst + n, rep);
			n += wcslen(rep);
		} else {
			dst[n++] = *src;
		}
	}
	dst[n] = 0;
}

/*
 * A toast under PowerShell's application id (an id Windows already knows, so no shortcut has to
 * be registered), scenario "reminder" would stay on screen and is not used: the toast goes to
 * the action centre, where the user reads and closes it.
 */
static BOOL show_toast(const wchar_t *title, const wchar_t *body) {
	static wchar_t script[NOTICE_MAX + 4096];
	wcscpy(script,
	       L"$ErrorActionPreference='Stop';"
	       L"[Windows.UI.Notifications.ToastNotificationManager,Windows.UI.Notifications,ContentType=WindowsRuntime]|Out-Null;"
	       L"[Windows.Data.Xml.Dom.XmlDocument,Windows.Data.Xml.Dom.XmlDocument,ContentType=WindowsRuntime]|Out-Null;"
	       L"$x=New-Object Windows.Data.Xml.Dom.XmlDocument;$x.LoadXml('<toast><visual><binding template=\"ToastGeneric\"><text>");
	append_escaped(script, sizeof script / sizeof script[0], title);
	wcscat(script, L"</text><text>");
	append_escaped(script, sizeof script / sizeof script[0], body);
	wcscat(script,
	       L"</text></binding></visual></toast>');"
	       L"$n=[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\\WindowsPowerShell\\v1.0\\powershell.exe');"
	       L"if($n.Setting -ne 0){exit 3};$n.Show([Windows.UI.Notifications.ToastNotification]::new($x));[Console]::Out.Write('" TOAST_MARK "');exit 0");
	/* -EncodedCommand: base64 of the UTF-16LE script, so no quoting of the text is needed. */
	DWORD bytes = (DWORD)(wcslen(script) * sizeof(wchar_t));
	static char b64[(NOTICE_MAX + 4096) * 3];
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)script;
	DWORD o = 0;
	for (DWORD i = 0; i < bytes; i += 3) {
		unsigned v = s[i] << 16 | (i + 1 < bytes ? s[i + 1] << 8 : 0) | (i + 2 < bytes ? s[i + 2] : 0);
		b64[o++] = alphabet[v >> 18 & 63];
		b64[o++] = alphabet[v >> 12 & 63];
		b64[o++] = i + 1 < bytes ? alphabet[v >> 6 & 63] : '=';
		b64[o++] = i + 2 < bytes ? alphabet[v & 63] : '=';
	}
	b64[o] = 0;
	static wchar_t cmd[(NOTICE_MAX + 4096) * 3 + 256];
	wchar_t system[MAX_PATH];
	GetSystemDirectoryW(system, MAX_PATH);
	int n = _snwprintf(cmd, 255, L"\"%ls\\WindowsPowerShell\\v1.0\\powershell.exe\" -NoProfile -NonInteractive -WindowStyle Hidden -EncodedCommand ", system);
	if (n < 0) return FALSE;
	MultiByteToWideChar(CP_ACP, 0, b64, -1, cmd + n, (int)(sizeof cmd / sizeof cmd[0]) - n);
	/* Success is PowerShell printing the mark after Show(): an exit code alone is not enough
	 * (a PowerShell that cannot load the WinRT types, or a stand-in such as wine's, may exit 0). */
	SECURITY_ATTRIBUTES inherit = { sizeof inherit, NULL, TRUE };
	HANDLE out_read, out_write;
	if (!CreatePipe(&out_read, &out_write, &inherit, 0)) return FALSE;
	SetHandleInformation(out_read, HANDLE_FLAG_INHERIT, 0);
	STARTUPINFOW si = { 0 };
	si.cb = sizeof si;
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
	si.hStdOutput = out_write;
	si.hStdError = out_write;
	PROCESS_INFORMATION pi = { 0 };
	BOOL started = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi);
	CloseHandle(out_write);
	if (!started) {
		CloseHandle(out_read);
		return FALSE;
	}
	static struct reader r;
	r.pipe = out_read;
	r.whole = TRUE;
	HANDLE thread = CreateThread(NULL, 0, read_line, &r, 0, NULL);
	BOOL said = thread && WaitForSingleObject(thread, 20000) == WAIT_OBJECT_0 && strstr(r.buf, TOAST_MARK) != NULL;
	DWORD code = 1;
	if (WaitForSingleObject(pi.hProcess, 5000) == WAIT_OBJECT_0) GetExitCodeProcess(pi.hProcess, &code);
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	return said && code == 0;
}

/* Whether a full-screen program, a presentation or "quiet time" has the screen now. */
static BOOL screen_busy(void) {
	QUERY_USER_NOTIFICATION_STATE state;
	if (SHQueryUserNotificationState(&state) != S_OK) return FALSE;
	return state == QUNS_BUSY || state == QUNS_RUNNING_D3D_FULL_SCREEN || state == QUNS_PRESENTATION_MODE;
}

static int show(void) {
	static char notice[NOTICE_MAX];
	static wchar_t text[NOTICE_MAX];
	read_stdin(notice, sizeof notice);
	if (!MultiByteToWideChar(CP_UTF8, 0, notice, -1, text, NOTICE_MAX)) text[0] = 0;
	text[NOTICE_MAX - 1] = 0;
	wchar_t *body = wcschr(text, L'\n');
	if (body) *body++ = 0;
	else body = L"";
	wchar_t *cr = wcschr(text, L'\r');
	if (cr) *cr = 0;
	if (toasts_allowed() && show_toast(text, body)) {
		out_utf8(L"shown toast\n");
		return 0;
	}
	for (DWORD waited = 0; screen_busy() && waited < FULLSCREEN_WAIT_MAX_MS; waited += 5000) Sleep(5000);
	out_utf8(L"shown window\n");
	/* No MB_SETFOREGROUND / MB_SYSTEMMODAL: the window never takes the keyboard from what the user types into. */
	MessageBoxW(NULL, body, text, MB_OK | MB_ICONWARNING | MB_TOPMOST);
	return 0;
}

int wmain(int argc, wchar_t **argv) {
	if (argc == 2 && wcscmp(argv[1], L"sessions") == 0) return list_sessions();
	if (argc == 3 && wcscmp(argv[1], L"show-in") == 0) {
		wchar_t *end;
		unsigned long id = wcstoul(argv[2], &end, 10);
		if (*end == 0 && end != argv[2]) return show_in((DWORD)id);
	}
	if (argc == 2 && wcscmp(argv[1], L"show") == 0) return show();
	out_line(L"usage: mamori-notice.exe sessions | show-in SESSION-ID | show  (notice on standard input)");
	return 64;
}
