/** Linux collector of the beyond check: host firewall, system disk encryption and clock synchronisation. */
import { allOf, because, inPart, probeWhy, setUnknown, type Why } from '../why.js';
import type { CheckContext, CheckOutput, Collector } from '../types.js';
import type { BeyondFacts } from './facts.js';
import { parseLsblk } from './linux-lsblk.js';
import { cryptMethodFromDmUuid, nftBlocksInbound, parseChronyTracking, parseIptablesPolicy, parseNftInputChains, parseTimedatectl, parseUfwConf, parseUfwStatus, rootEncryption } from './linux-parse.js';

/** Defaults of the OS paths (the check's `params`). */
export const LINUX_BEYOND_PARAMS = {
  ufwConfPath: '/etc/ufw/ufw.conf',
  ufwPath: '/usr/sbin/ufw',
  firewallCmdPath: '/usr/bin/firewall-cmd',
  nftPath: '/usr/sbin/nft',
  iptablesPath: '/usr/sbin/iptables',
  lsblkPath: '/usr/bin/lsblk',
  sysfsRoot: '/sys',
  timedatectlPath: '/usr/bin/timedatectl',
  chronycPath: '/usr/bin/chronyc',
};
type Params = typeof LINUX_BEYOND_PARAMS;
type Profile = BeyondFacts['firewallProfiles'][number];


export const collect: Collector<BeyondFacts> = async (ctx) => {
  const p = { ...LINUX_BEYOND_PARAMS, ...ctx.params } as Params;
  const out: CheckOutput<BeyondFacts> = { status: 'ok', facts: {}, unknownFacts: {} };
  await firewall(ctx, p, out);
  await encryption(ctx, p, out);
  await clock(ctx, p, out);
  if (Object.keys(out.facts).length === 0) {
    out.status = 'unknown';
    const all = because('NOT_READ', 'why.beyond.nothingRead', { causes: [...new Set(Object.keys(out.unknownFacts))].map((f) => out.unknownMsgs?.[f] ?? out.unknownFacts[f]!) });
    out.reason = all.text;
    out.reasonMsg = all.msg;
  }
  return out;
};

/**
 * A frontend counts when it really filters: `ufw status` active (root; systemd's "active" of the
 * oneshot ufw.service is no proof — chaifeng/ufw-docker#62), firewalld `running`, or an nftables
 * input chain dropping by default. A non-empty ruleset alone (Docker, libvirt) is not a firewall.
 */
async function firewall(ctx: CheckContext, p: Params, out: CheckOutput<BeyondFacts>): Promise<void> {
  const profiles: Profile[] = [];
  const problems: Why[] = [];
  const active: string[] = [];
  const installed: string[] = [];

  const conf = await ctx.probes.readFile('ufw.conf', p.ufwConfPath);
  const ufwEnabledInConf = conf.ok ? parseUfwConf(conf.stdout) : null;
  const ufw = await ctx.probes.exec('ufw.status', p.ufwPath, ['status', 'verbose']);
  if (ufw.ok) {
    installed.push('ufw');
    const st = parseUfwStatus(ufw.stdout);
    if (st) {
      profiles.push({ name: 'ufw', enabled: st.active, defaultInboundBlock: st.active ? st.defaultInboundBlock : false });
      if (st.active) active.push('ufw');
    } else problems.push(because('PARSE_FAILED', 'why.beyond.ufwNoStatus', {}));
  } else if (ufw.failure !== 'NOT_FOUND' || conf.ok) {
    installed.push('ufw');
    // Non-root: "ERROR: You need to be root to run this script". ufw.conf alone does not prove the rules are loaded.
    if (ufwEnabledInConf !== false) problems.push(inPart(ufwEnabledInConf ? 'ufw status (ufw.conf: ENABLED=yes)' : 'ufw status', probeWhy(ufw)));
    else profiles.push({ name: 'ufw', enabled: false, defaultInboundBlock: false });
  }

  const fwd = await ctx.probes.exec('firewalld.state', p.firewallCmdPath, ['--state'], { okExitCodes: [0, 252] });
  if (fwd.ok) {
    installed.push('firewalld');
    const running = fwd.stdout.trim() === 'running';
    profiles.push({ name: 'firewalld', enabled: running, defaultInboundBlock: null });
    if (running) active.push('firewalld');
  } else if (fwd.failure !== 'NOT_FOUND') {
    installed.push('firewalld');
    // Non-root polkit refusal ("Authorization failed") is not "not running" (mondoohq/mql#10416).
    problems.push(inPart('firewall-cmd --state', probeWhy(fwd)));
  }

  const nft = await ctx.probes.exec('nft.ruleset', p.nftPath, ['-j', 'list', 'ruleset']);
  if (nft.ok) {
    const chains = parseNftInputChains(nft.stdout);
    if (!chains) problems.push(because('PARSE_FAILED', 'why.beyond.nftNotJson', {}));
    else {
      for (const c of chains) profiles.push({ name: `nftables ${c.family} ${c.table} ${c.name}`, enabled: true, defaultInboundBlock: c.policy === 'drop' || c.endsWithDrop });
      if (nftBlocksInbound(chains)) active.push('nftables');
    }
  } else if (nft.failure !== 'NOT_FOUND') problems.push(inPart('nft list ruleset', probeWhy(nft)));
  else {
    const ipt = await ctx.probes.exec('iptables.input', p.iptablesPath, ['-S', 'INPUT']);
    if (ipt.ok) {
      const policy = parseIptablesPolicy(ipt.stdout);
      profiles.push({ name: 'iptables INPUT', enabled: true, defaultInboundBlock: policy === 'DROP' });
      if (policy === 'DROP') active.push('iptables');
    } else if (ipt.failure !== 'NOT_FOUND') problems.push(inPart('iptables -S INPUT', probeWhy(ipt)));
  }

  out.facts.firewallProfiles = profiles;
  // A source that could not be read leaves the list of profiles incomplete.
  if (problems.length > 0) setUnknown(out, 'firewallProfiles', allOf(problems));
  if (active.length > 0) {
    out.facts.firewallEnabled = true;
    out.facts.firewallFrontend = active[0]!;
  } else if (problems.length > 0) {
    setUnknown(out, ['firewallEnabled', 'firewallFrontend'], allOf(problems));
  } else {
    out.facts.firewallEnabled = false;
    out.facts.firewallFrontend = installed[0] ?? null;
  }
}

async function encryption(ctx: CheckContext, p: Params, out: CheckOutput<BeyondFacts>): Promise<void> {
  let ls = await ctx.probes.exec('lsblk.tree', p.lsblkPath, ['-J', '-o', 'NAME,KNAME,PATH,TYPE,FSTYPE,MOUNTPOINTS']);
  // util-linux < 2.37 has no MOUNTPOINTS column ("lsblk: unknown column: MOUNTPOINTS"), and < 2.33
  // (RHEL/Rocky 8: 2.32) no PATH column either (v2.33-ReleaseNotes): the retry asks only for what 2.32 has.
  if (!ls.ok && /unknown column/i.test(ls.detail)) ls = await ctx.probes.exec('lsblk.tree-old', p.lsblkPath, ['-J', '-o', 'NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT']);
  if (!ls.ok) {
    setUnknown(out, ['systemDiskEncrypted', 'encryptionMethod'], probeWhy(ls));
    return;
  }
  const tree = parseLsblk(ls.stdout);
  const root = tree ? rootEncryption(tree) : null;
  if (!root) {
    setUnknown(out, ['systemDiskEncrypted', 'encryptionMethod'], tree ? because('NOT_A_BLOCK_DEVICE', 'why.beyond.rootNotBlock', {}) : because('PARSE_FAILED', 'why.beyond.lsblkNoTree', {}));
    return;
  }
  out.facts.systemDiskEncrypted = root.encrypted;
  if (!root.encrypted || !root.cryptKname) {
    out.facts.encryptionMethod = null;
    return;
  }
  const uuid = await ctx.probes.readFile('dm.uuid', `${p.sysfsRoot}/block/${root.cryptKname}/dm/uuid`);
  if (uuid.ok && cryptMethodFromDmUuid(uuid.stdout)) out.facts.encryptionMethod = cryptMethodFromDmUuid(uuid.stdout);
  else setUnknown(out, 'encryptionMethod', uuid.ok ? because('PARSE_FAILED', 'why.beyond.dmUuid', { uuid: { q: uuid.stdout.trim() } }) : probeWhy(uuid));
}

async function clock(ctx: CheckContext, p: Params, out: CheckOutput<BeyondFacts>): Promise<void> {
  const td = await ctx.probes.exec('timedatectl.show', p.timedatectlPath, ['show']);
  const parsed = td.ok ? parseTimedatectl(td.stdout) : null;
  const chrony = await ctx.probes.exec('chronyc.tracking', p.chronycPath, ['-n', '-c', 'tracking']);
  const ch = chrony.ok ? parseChronyTracking(chrony.stdout) : null;
  if (parsed) {
    // NTPSynchronized is the kernel's STA_UNSYNC flag, true for chrony and ntpd as well (systemd#6554).
    out.facts.clockSynchronized = parsed.synchronized;
    if (ch?.source) out.facts.timeSource = `chrony ${ch.source}`;
    else {
      const ts = await ctx.probes.exec('timedatectl.timesync-server', p.timedatectlPath, ['show-timesync', '-p', 'ServerName', '--value']);
      out.facts.timeSource = ts.ok && ts.stdout.trim() ? `systemd-timesyncd ${ts.stdout.trim()}` : null;
    }
  } else if (ch) {
    out.facts.clockSynchronized = ch.synchronized;
    out.facts.timeSource = ch.source ? `chrony ${ch.source}` : null;
  } else {
    const reason = allOf([td.ok ? because('PARSE_FAILED', 'why.beyond.noNtpSynchronized', {}) : inPart('timedatectl', probeWhy(td)), chrony.ok ? inPart('chronyc', because('PARSE_FAILED', 'why.beyond.chronycUnparsable', {})) : inPart('chronyc', probeWhy(chrony))]);
    setUnknown(out, ['clockSynchronized', 'timeSource'], reason);
  }
}
