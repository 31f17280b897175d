/**
 * Why a check could not read a fact, in words: the detail after the code of an `unknown`
 * reason (agent/checks/why.ts builds them with `because(code, id, params)`). Each names the
 * thing it could not read — which file, which program, which user. Part of the catalogue
 * (./messages.ts); a test checks that every id used by a check is here, in both languages,
 * with the same placeholders.
 */
export const CHECK_REASONS = {
  // ---- every check (agent/judge.ts) -----------------------------------------------------------
  'why.invalidFact': { ja: '{path} の値の形式が正しくありません ({issue})', en: '{path} has an invalid value ({issue})' },
  'why.noCollector': { ja: '検査 {check} は {platform} では動きません', en: 'the {check} check has no {platform} collector' },
  'why.checkError': { ja: '検査の途中でエラーが起きました: {error}', en: 'the check failed: {error}' },
  // ---- antivirus (agent/checks/antivirus) --------------------------------------------------------
  'why.av.processesUnread': { ja: 'プロセス {count} 個を読み取れません ({processes})', en: '{count} processes could not be read ({processes})' },
  'why.av.noProtectionState': { ja: '{product} は保護の状態をエージェントに知らせません', en: '{product} does not report its protection state to the agent' },
  'why.av.noSignatureTime': { ja: '{product} は定義ファイルの更新日時をエージェントに知らせません', en: '{product} does not report its signature time to the agent' },
  'why.av.noLicence': { ja: '{product} のライセンスの状態を読み取れません', en: 'the licence state of {product} is not readable' },
  'why.av.noneFoundSomeUnread': { ja: '不正プログラム対策ソフトウェアが見つからず、一部の情報源を読み取れませんでした: {problems}', en: 'no anti-malware product found, and some sources could not be read: {problems}' },
  'why.av.notReported': { ja: '{product} は {value} を知らせません', en: '{product} does not report {value}' },
  'why.av.clamavUndecided': { ja: 'ClamAV がインストールされているか分かりません (clamd --version: {clamd}、clamscan --version: {clamscan})', en: 'whether ClamAV is installed is unknown (clamd --version: {clamd}; clamscan --version: {clamscan})' },
  'why.av.noClamHeader': { ja: '{file} に ClamAV-VDB のヘッダーがありません', en: '{file} has no ClamAV-VDB header' },
  'why.av.statNoTimes': { ja: 'stat が {dir} の定義ファイルの日時を出力しませんでした', en: 'stat printed no times for the databases in {dir}' },
  'why.av.mdatpUndecided': { ja: 'Microsoft Defender for Endpoint がインストールされているか分かりません (mdatp health: {cause})', en: 'whether Microsoft Defender for Endpoint is installed is unknown (mdatp health: {cause})' },
  'why.av.mdatpNoJson': { ja: 'mdatp health が JSON を出力しませんでした', en: 'mdatp health printed no JSON object' },
  'why.av.mdatpNoFullScan': { ja: 'mdatp health は最後のフルスキャンの日時を知らせません', en: 'mdatp health does not report the last full scan' },
  // ---- processes (agent/checks/software/linux-proc.ts) -------------------------------------------
  'why.proc.listingNotJson': { ja: '{dir} の一覧が JSON の配列ではありません', en: 'the listing of {dir} is not a JSON array' },
  'why.proc.noneRead': { ja: '{dir} のプロセスを一つも読み取れません', en: 'no process of {dir} could be read' },
  // ---- antivirus on Windows (agent/checks/antivirus/windows-*.ts) --------------------------------
  'why.av.vendorNotString': { ja: '{value} は {kind} で、{format} 形式の REG_SZ ではありません', en: '{value} is {kind}, expected REG_SZ {format}' },
  'why.av.vendorBadDate': { ja: '{value} の値 {data} は {format} 形式ではありません', en: '{value} = {data} is not {format}' },
  'why.av.vendorNotSeconds': { ja: '{value} は {kind} {data} で、1970年からの秒数の REG_DWORD ではありません', en: '{value} is {kind} {data}, expected a REG_DWORD of seconds since 1970' },
  'why.av.symantecCurDefs': { ja: '{file} の {line} は CurDefs=yyyyMMdd.rrr の形式ではありません', en: '{file}: {line} is not CurDefs=yyyyMMdd.rrr' },
  'why.av.vendorNoSignatureDate': { ja: '{vendor} の定義ファイルの日付がレジストリにもディスクにもありません (場所は docs/catalogue.md)', en: 'no {vendor} signature date in the registry or on disk (locations in docs/catalogue.md)' },
  'why.av.vendorNoFullScan': { ja: '{vendor} はフルスキャンの日時を端末に記録する方法を公開していません', en: '{vendor} keeps no documented full-scan time on the PC' },
  'why.av.kasperskyNoFullScan': { ja: 'Kaspersky の AVState キーに Protection_LastFscan がありません', en: 'no Protection_LastFscan in the Kaspersky AVState key' },
  'why.av.noSecurityCenterOnServer': { ja: 'Windows Server には SecurityCenter2 がありません', en: 'Windows Server has no SecurityCenter2' },
  'why.av.noSecurityCenter': { ja: 'SecurityCenter2 を使えません ({cause})', en: 'SecurityCenter2 is not available ({cause})' },
  'why.av.mpStatusFailed': { ja: 'Get-MpComputerStatus が失敗しました: {error}', en: 'Get-MpComputerStatus failed: {error}' },
  'why.av.blind': { ja: '製品を探す手段がありません: {sources}', en: 'no source to find a product: {sources}' },
  'why.av.securityCenterOnly': { ja: '{product} は SecurityCenter2 経由でしか見えず、分かるのは有効・無効と定義ファイルが最新か ({upToDate}) だけです', en: '{product} is seen through SecurityCenter2, which reports only on/off and signatures up to date ({upToDate})' },
  'why.av.vendorUnknown': { ja: '製品の提供元が分からず、定義ファイルの日付の場所が分かりません', en: 'vendor not recognised (no known signature-date location)' },
  // ---- PowerShell documents (agent/checks/software/windows-common.ts) ----------------------------
  'why.ps.empty': { ja: '{script} が何も出力しませんでした', en: '{script} printed nothing' },
  'why.ps.notJson': { ja: '{script} の出力が一つの完全な JSON 文書ではありません (途中で切れた可能性があります): {error}', en: '{script} did not print one complete JSON document (truncated?): {error}' },
  'why.ps.shape': { ja: '{script} の出力の {path} が想定と違います: {issue}', en: '{script}: {path}: {issue}' },
  // ---- Windows Update search (agent/checks/os-patches/windows-wua.ts) ----------------------------
  'why.wua.running': { ja: 'Windows Update の検索が {since} から実行中です', en: 'a Windows Update search is running since {since}' },
  'why.wua.failed': { ja: '{cause}。次の検索は {next} 以降です', en: '{cause}; next attempt after {next}' },
  'why.wua.noSearchYet': { ja: 'まだ検索していません', en: 'no search yet' },
  'why.wua.noResult': { ja: '検索の結果がありません', en: 'no result' },
  'why.wua.now': { ja: '今すぐ', en: 'now' },
  'why.wua.tooOld': { ja: '{at} の前回の結果は古すぎます', en: 'the last result from {at} is too old' },
  'why.wua.withStale': { ja: '{cause} ({old})', en: '{cause} ({old})' },
  // ---- firewall, disk encryption, time (agent/checks/beyond) -------------------------------------
  'why.beyond.nothingRead': { ja: 'ファイアウォール、ディスク暗号化、時刻同期のどれも読み取れません ({causes})', en: 'neither firewall, disk encryption nor time sync could be read ({causes})' },
  'why.beyond.ufwNoStatus': { ja: 'ufw status の出力に Status の行がありません', en: 'ufw status printed no Status line' },
  'why.beyond.nftNotJson': { ja: 'nft -j list ruleset の出力が nftables の JSON ではありません', en: 'nft -j list ruleset is not nftables JSON' },
  'why.beyond.rootNotBlock': { ja: 'lsblk の一覧に / にマウントされたブロックデバイスがありません (overlay、ネットワーク、コンテナのルート)', en: 'no block device lsblk lists is mounted at / (overlay, network or container root)' },
  'why.beyond.lsblkNoTree': { ja: 'lsblk が JSON のツリーを出力しませんでした', en: 'lsblk printed no JSON tree' },
  'why.beyond.dmUuid': { ja: 'device-mapper の UUID {uuid} から暗号化の方式が分かりません', en: 'the encryption method cannot be told from the dm uuid {uuid}' },
  'why.beyond.noNtpSynchronized': { ja: 'timedatectl show の出力に NTPSynchronized がありません', en: 'timedatectl show has no NTPSynchronized' },
  'why.beyond.chronycUnparsable': { ja: 'chronyc tracking の出力を解釈できません', en: 'the output of chronyc tracking could not be parsed' },
  // ---- firewall, disk encryption, time on Windows (agent/checks/beyond/windows-parse.ts) ---------
  'why.beyond.systemDrive': { ja: 'システムドライブ', en: 'the system drive' },
  'why.beyond.bitlockerLocked': { ja: '{drive} の ProtectionStatus が 2 (不明) です', en: '{drive} reports ProtectionStatus 2 (unknown)' },
  'why.beyond.bitlockerUndecidable': { ja: 'Win32_EncryptableVolume を読めず ({error})、System.Volume.BitLockerProtection は {value} です', en: 'Win32_EncryptableVolume not readable ({error}) and System.Volume.BitLockerProtection is {value}' },
  'why.beyond.bitlockerNoSource': { ja: 'bitlocker: どの情報源からも応答がありません', en: 'bitlocker: no source answered' },
  'why.beyond.notRead': { ja: '{part}: 読み取っていません', en: '{part}: not read' },
  'why.beyond.timeEventsUnread': { ja: 'Time-Service のイベントを読めません ({error})。w32tm の出力は言語によって変わるため読みません', en: 'the Time-Service events could not be read ({error}) and w32tm output is localised and not read' },
  'why.beyond.timeNoEventRunning': { ja: 'W32Time は動いていますが、同期を記録した Time-Service のイベントがありません (w32tm の出力は言語によって変わるため読みません)', en: 'W32Time is running and no Time-Service event records a synchronisation (w32tm output is localised and not read)' },
  'why.beyond.timeNoEventStopped': { ja: 'W32Time は動いておらず、同期を記録した Time-Service のイベントがありません (w32tm の出力は言語によって変わるため読みません)', en: 'W32Time is not running and no Time-Service event records a synchronisation (w32tm output is localised and not read)' },
  'why.beyond.noFirewallProfile': { ja: 'Get-NetFirewallProfile がプロファイルを返しませんでした', en: 'Get-NetFirewallProfile returned no profile' },
  'why.beyond.noMpsSvc': { ja: 'Win32_Service に MpsSvc がありません', en: 'Win32_Service returned no MpsSvc' },
  'why.beyond.mpsSvcUnknown': { ja: 'すべてのプロファイルが有効ですが、Windows Defender ファイアウォールのサービス (MpsSvc) の状態が分かりません: {cause}', en: 'every profile is enabled but the state of the Windows Defender Firewall service (MpsSvc) is unknown: {cause}' },
} as const satisfies Record<string, { ja: string; en: string }>;
