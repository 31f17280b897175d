import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareVersions, loadEolCatalogue, matchSoftware, osRelease, resolveEolDate, windowsEditionFamily } from '../../../src/shared/eol/index.js';
import type { InstalledSoftware } from '../../../src/shared/eol/index.js';

const cat = loadEolCatalogue();

function win(name: string, version: string | null = null): InstalledSoftware {
  return { name, version, source: 'uninstall-hklm' };
}

describe('loadEolCatalogue (config/eol/catalogue.yml)', () => {
  it('is dated the day it was compiled and names a vendor source for every product', () => {
    expect(cat.date).toBe('2026-11-23');
    expect(cat.products.length).toBeGreaterThan(20);
    for (const p of cat.products) expect(p.source.url).toMatch(/^https:\/\//);
  });

  it('is cached per path', () => {
    expect(loadEolCatalogue()).toBe(cat);
  });
});

describe('matchSoftware on Windows DisplayNames', () => {
  it('recognises Office by the year in the name (DisplayVersion is 16.0 for all of them)', () => {
    const m = matchSoftware(cat, [win('Microsoft Office Professional Plus 2016 - ja-jp', '16.0.4266.1001'), win('Microsoft Office LTSC Professional Plus 2021 - ja-jp', '16.0.14332.20447')], 'windows');
    expect(m).toEqual([
      { product: 'microsoft-office', title: 'Microsoft Office 2016', installed: 'Microsoft Office Professional Plus 2016 - ja-jp', version: '16.0.4266.1001', cycle: '2016', eolDate: '2025-10-14' },
      { product: 'microsoft-office', title: 'Microsoft Office 2021 / LTSC 2021', installed: 'Microsoft Office LTSC Professional Plus 2021 - ja-jp', version: '16.0.14332.20447', cycle: '2021', eolDate: '2026-10-13' },
    ]);
  });

  it('reports one entry per product cycle even when several components match', () => {
    const m = matchSoftware(cat, [win('Microsoft Office Standard 2013', '15.0.4569.1506'), win('Microsoft Office Proofing Tools 2013 - 日本語', '15.0.4569.1506'), win('Microsoft Access database engine 2010 (Japanese)', '14.0.7015.1000')], 'windows');
    expect(m.map((x) => `${x.product}:${x.cycle}:${x.eolDate}`)).toEqual(['microsoft-office:2013:2023-04-11', 'microsoft-office:2010:2020-10-13']);
  });

  it('recognises 一太郎 by its Japanese name and reports an unconfirmed date as null', () => {
    const m = matchSoftware(cat, [win('ジャストシステム 一太郎2023', '23.0.1.0'), win('一太郎Pad', '1.0')], 'windows');
    expect(m).toEqual([{ product: 'ichitaro', title: '一太郎2023', installed: 'ジャストシステム 一太郎2023', version: '23.0.1.0', cycle: '2023', eolDate: null }]);
  });

  it('tells Acrobat Reader DC Continuous from the 2015 Classic track by version, and finds 2017/2020/XI', () => {
    const m = matchSoftware(
      cat,
      [win('Adobe Acrobat Reader DC - Japanese', '23.008.20470'), win('Adobe Acrobat DC (2015)', '15.006.30523'), win('Adobe Acrobat Reader 2020 MUI', '20.005.30574'), win('Adobe Reader XI (11.0.23) - Japanese', '11.0.23')],
      'windows',
    );
    expect(m.map((x) => [x.cycle, x.eolDate])).toEqual([
      ['dc', null],
      ['2015', '2020-04-07'],
      ['2020', '2025-06-30'],
      ['XI', '2017-10-15'],
    ]);
  });

  it('reads the cycle of Java, .NET, Python and Node.js from name or version', () => {
    const m = matchSoftware(
      cat,
      [
        win('Java 8 Update 391 (64-bit)', '8.0.3910.13'),
        win('Java(TM) SE Development Kit 17.0.9 (64-bit)', '17.0.9.0'),
        win('Eclipse Temurin JDK with Hotspot 20.0.2+9 (x64)', '20.0.2.9'),
        win('Microsoft .NET Runtime - 6.0.25 (x64)', '48.103.11260'),
        win('Microsoft Windows Desktop Runtime - 8.0.11 (x64)', '64.44.23553'),
        win('Python 3.8.10 (64-bit)', '3.8.10150.0'),
        win('Python Launcher', '3.12.1'),
        win('Node.js', '18.19.0'),
        win('Microsoft .NET Framework 4.5.2', '4.5.51209'),
      ],
      'windows',
    );
    expect(m.map((x) => `${x.product}:${x.cycle}:${x.eolDate}`)).toEqual([
      'oracle-java:8:2030-12-31',
      'oracle-java:17:2029-09-30',
      'openjdk-builds:20:2023-09-30',
      'dotnet:6.0:2024-11-12',
      'dotnet:8.0:2026-11-10',
      'python:3.8:2024-10-07',
      'nodejs:18:2025-04-30',
      'dotnet-framework:4.5.2:2022-04-26',
    ]);
  });

  it('puts browser versions into range cycles and leaves current ones unmatched', () => {
    const m = matchSoftware(cat, [win('Google Chrome', '109.0.5414.120'), win('Microsoft Edge', '142.0.3595.65'), win('Mozilla Firefox ESR (x64 ja)', '102.15.1'), win('Mozilla Firefox (x64 ja)', '102.0')], 'windows');
    expect(m.map((x) => `${x.product}:${x.cycle}:${x.eolDate}`)).toEqual(['google-chrome:<131:2024-11-12', 'firefox-esr:102:2023-09-26']);
  });

  it('finds retired plug-ins and the old Visual C++ runtimes', () => {
    const m = matchSoftware(cat, [win('Adobe Flash Player 32 NPAPI', '32.0.0.465'), win('Microsoft Silverlight', '5.1.50918.0'), win('Microsoft Visual C++ 2008 Redistributable - x86 9.0.30729.6161', '9.0.30729.6161'), win('Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.40.33810', '14.40.33810.0')], 'windows');
    expect(m.map((x) => `${x.product}:${x.eolDate}`)).toEqual(['adobe-flash-player:2020-12-31', 'microsoft-silverlight:2021-10-12', 'visual-cpp-redistributable:2018-04-10']);
  });

  it('does not use Windows rules for Linux packages or the reverse', () => {
    expect(matchSoftware(cat, [win('Microsoft Office Professional Plus 2016 - ja-jp')], 'linux')).toEqual([]);
    expect(matchSoftware(cat, [{ name: 'google-chrome-stable', version: '109.0.5414.119-1', source: 'dpkg' }], 'windows')).toEqual([]);
  });
});

describe('matchSoftware on Linux packages (names as dpkg-query -W prints them on this Debian 12 machine)', () => {
  // dpkg-query -W output on the development machine: "nodejs\t20.20.2-1nodesource1+repack1",
  // "openjdk-17-jre:amd64\t17.0.15+6-1~deb12u1", "python3\t3.11.2-1+b1".
  const dpkg = (name: string, version: string): InstalledSoftware => ({ name, version, source: 'dpkg' });

  it('matches the NodeSource build of Node.js 20 (ended 2026-04-30) but not distro packages', () => {
    const m = matchSoftware(cat, [dpkg('nodejs', '20.20.2-1nodesource1+repack1'), dpkg('openjdk-17-jre:amd64', '17.0.15+6-1~deb12u1'), dpkg('python3', '3.11.2-1+b1')], 'linux');
    expect(m).toEqual([{ product: 'nodejs', title: 'Node.js 20', installed: 'nodejs', version: '20.20.2-1nodesource1+repack1', cycle: '20', eolDate: '2026-04-30' }]);
  });

  it('leaves Debian\'s own nodejs (maintained by Debian) alone', () => {
    expect(matchSoftware(cat, [dpkg('nodejs', '18.19.0+dfsg-6~deb12u2')], 'linux')).toEqual([]);
  });

  it('matches vendor packages: TDF LibreOffice, Chrome, Microsoft .NET, firefox-esr, Oracle JDK rpm', () => {
    const m = matchSoftware(
      cat,
      [
        dpkg('libreoffice7.6-ja', '7.6.7.2-2'),
        dpkg('libreoffice-core', '4:7.4.7-1+deb12u5'),
        dpkg('google-chrome-stable', '109.0.5414.119-1'),
        dpkg('dotnet-runtime-7.0', '7.0.20-1'),
        dpkg('firefox-esr', '115.12.0esr-1~deb12u1'),
        { name: 'jdk1.8', version: '1.8.0_391-fcs', source: 'rpm' },
      ],
      'linux',
    );
    expect(m.map((x) => `${x.product}:${x.cycle}:${x.eolDate}`)).toEqual([
      'libreoffice:7.6:2024-06-12',
      'google-chrome:<131:2024-11-12',
      'dotnet:7.0:2024-05-14',
      'firefox-esr:115:null',
      'oracle-java:8:2030-12-31',
    ]);
  });
});

describe('osRelease', () => {
  it.each([
    ['debian-12', 'Debian 12 (bookworm)', '2028-06-30'],
    ['debian-10', 'Debian 10 (buster)', '2024-06-30'],
    ['ubuntu-24.04', 'Ubuntu 24.04 LTS', '2029-04-30'],
    ['ubuntu-20.04', 'Ubuntu 20.04 LTS', '2025-05-31'],
    ['rhel-9', 'RHEL 9', '2032-05-31'],
    ['rocky-9', 'Rocky Linux 9', '2032-05-31'],
    ['almalinux-9', 'AlmaLinux 9', '2032-05-31'],
    ['centos-7', 'CentOS Linux 7', '2024-06-30'],
    ['fedora-41', 'Fedora 41', '2025-12-31'],
    ['fedora-36', 'Fedora 37 or older', '2023-12-05'],
    ['windows-10-22h2-pro', 'Windows 10 Pro 22H2', '2025-10-14'],
    ['windows-10-22h2-enterprise', 'Windows 10 Enterprise 22H2', '2025-10-14'],
    ['windows-10-21h2-enterprise', 'Windows 10 Enterprise 21H2', '2024-06-11'],
    ['windows-10-21h2-home', 'Windows 10 Home 21H2', '2023-06-13'],
    ['windows-11-23h2-pro', 'Windows 11 Pro 23H2', '2025-11-11'],
    ['windows-11-23h2-enterprise', 'Windows 11 Enterprise 23H2', '2026-11-10'],
    ['windows-11-24h2-education', 'Windows 11 Education 24H2', '2027-10-12'],
    ['windows-11-24h2-pro', 'Windows 11 Pro 24H2', '2026-10-13'],
    ['windows-11-24h2-iot', 'Windows 11 IoT Enterprise 24H2', '2027-10-12'],
    ['windows-10-ltsc-2021', 'Windows 10 Enterprise LTSC 2021', '2027-01-12'],
    ['windows-10-ltsc-2021-iot', 'Windows 10 IoT Enterprise LTSC 2021', '2032-01-13'],
    ['windows-10-ltsb-2016', 'Windows 10 Enterprise LTSB 2016', '2026-10-13'],
    ['windows-11-ltsc-2024', 'Windows 11 Enterprise LTSC 2024', '2029-10-09'],
    ['windows-7', 'Windows 7', '2020-01-14'],
    ['windows-8.1', 'Windows 8.1', '2023-01-10'],
    ['windows-server-2012-r2', 'Windows Server 2012 R2', '2023-10-10'],
    ['windows-server-2019', 'Windows Server 2019', '2029-01-09'],
  ])('%s → %s, %s', (osId, title, eolDate) => {
    expect(osRelease(cat, osId)).toEqual({ title, eolDate });
  });

  it('is case-insensitive and gives null for a release without a confirmed end', () => {
    expect(osRelease(cat, 'Windows-11-23H2-Pro')?.eolDate).toBe('2025-11-11');
    expect(osRelease(cat, 'windows-server-2025')).toEqual({ title: 'Windows Server 2025', eolDate: null });
  });

  it('does not know made-up releases', () => {
    for (const id of ['debian-99', 'windows-11-29h2-pro', 'windows-10', 'windows-11-23h2', 'windows-', 'plan9-4']) expect(osRelease(cat, id)).toBeUndefined();
  });
});

describe('helpers', () => {
  it('resolves month-precision dates to the last day of the month', () => {
    expect(resolveEolDate('2027-04')).toBe('2027-04-30');
    expect(resolveEolDate('2028-02')).toBe('2028-02-29');
    expect(resolveEolDate('2025-10-14')).toBe('2025-10-14');
    expect(resolveEolDate(null)).toBeNull();
  });
  it('compares versions numerically', () => {
    expect(compareVersions('3.10', '3.9')).toBeGreaterThan(0);
    expect(compareVersions('109', '131')).toBeLessThan(0);
    expect(compareVersions('7.0', '7')).toBe(0);
  });
  it('maps Windows EditionID to the lifecycle family', () => {
    expect(windowsEditionFamily('Professional')).toBe('pro');
    expect(windowsEditionFamily('ProfessionalEducation')).toBe('pro');
    expect(windowsEditionFamily('Core')).toBe('home');
    expect(windowsEditionFamily('CoreSingleLanguage')).toBe('home');
    expect(windowsEditionFamily('Enterprise')).toBe('enterprise');
    expect(windowsEditionFamily('Education')).toBe('education');
    expect(windowsEditionFamily('IoTEnterprise')).toBe('iot');
    expect(windowsEditionFamily('EnterpriseS')).toBeUndefined();
    expect(windowsEditionFamily('ServerStandard')).toBeUndefined();
  });
});

describe('loader errors name file, line and key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mamori-eol-'));
  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const product = (extra: string) => `date: "2026-11-23"\nproducts:\n  - id: x\n    kind: runtime\n    title: X\n    source: { name: n, url: "https://example.org/" }\n    match:\n      windows:\n        - { name: '^X$', cycle: "1" }\n    cycles:\n${extra}`;

  it('a bad date', () => {
    const p = write('bad-date.yml', product('      - { cycle: "1", eol: "2026-13-01" }\n'));
    expect(() => loadEolCatalogue(p)).toThrow(new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:11: products\\.0\\.cycles\\.0\\.eol: eol must be YYYY-MM-DD or YYYY-MM`));
  });

  it('a matcher without a cycle', () => {
    const p = write('no-cycle.yml', product('      - { cycle: "1", eol: null }\n').replace(`, cycle: "1" }`, ' }'));
    expect(() => loadEolCatalogue(p)).toThrow(/no-cycle\.yml:9: products\.0\.match\.windows\.0: give `cycle` or a \(\?<cycle>…\) group/);
  });

  it('a broken regular expression', () => {
    const p = write('bad-re.yml', product('      - { cycle: "1", eol: null }\n').replace("'^X$'", "'^X(['"));
    expect(() => loadEolCatalogue(p)).toThrow(/bad-re\.yml:9: products\.0\.match\.windows\.0\.name: not a valid regular expression/);
  });

  it('a missing date and a YAML syntax error', () => {
    expect(() => loadEolCatalogue(write('no-date.yml', 'products: []\n'))).toThrow(/no-date\.yml:\?: date: /);
    expect(() => loadEolCatalogue(write('syntax.yml', 'date: "2026-11-23"\nproducts: [\n'))).toThrow(/syntax\.yml:\d+: /);
    expect(() => loadEolCatalogue(join(dir, 'absent.yml'))).toThrow(/absent\.yml: cannot read \(ENOENT\)/);
  });
});
