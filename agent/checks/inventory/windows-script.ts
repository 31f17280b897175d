/**
 * PowerShell script of the inventory check on Windows (probe key `win.inventory`), run on the
 * agent's `inventory` PowerShell process.
 *
 * Why not systeminformation itself on Windows: it starts one powershell.exe per query (about a
 * dozen for this inventory, each costing a second of CPU or more: sebhildebrandt/systeminformation
 * #616, #650, #788), runs `ipconfig /all`, `netsh lan/wlan` and `query user` synchronously, whose
 * output is localised on Japanese Windows, and parses Format-List text. This script asks the same
 * CIM classes for the same properties in one batch and prints one JSON document; the
 * systeminformation source (v5.33, lib/*.js) each part follows is named below:
 *
 * | part | CIM class / source | systeminformation |
 * |---|---|---|
 * | product | Win32_ComputerSystemProduct Name, Vendor, IdentifyingNumber, UUID | system() lib/system.js |
 * | computer | Win32_ComputerSystem Manufacturer, Model, SystemSKUNumber, HypervisorPresent, TotalPhysicalMemory, PartOfDomain, Domain, Workgroup, UserName | system(), osInfo() lib/system.js, lib/osinfo.js |
 * | bios | Win32_BIOS Manufacturer, SMBIOSBIOSVersion, ReleaseDate, SerialNumber; $env:firmware_type | bios() lib/system.js |
 * | enclosure | Win32_SystemEnclosure ChassisTypes, SerialNumber, SMBIOSAssetTag | chassis() lib/system.js |
 * | processor | Win32_Processor Name, Manufacturer, MaxClockSpeed, NumberOfCores, NumberOfLogicalProcessors | cpu() lib/cpu.js |
 * | memory | Win32_PhysicalMemory BankLabel, DeviceLocator, Capacity, SMBIOSMemoryType, Speed, ConfiguredClockSpeed, Manufacturer, PartNumber, SerialNumber | memLayout() lib/memory.js |
 * | diskDrives | Win32_DiskDrive Index, DeviceID, Model, Size, SerialNumber, FirmwareRevision, InterfaceType, Status | diskLayout() lib/filesystem.js |
 * | physicalDisks | Get-PhysicalDisk (MSFT_PhysicalDisk) DeviceId, BusType, MediaType, SerialNumber | diskLayout() lib/filesystem.js |
 * | adapters | Win32_NetworkAdapter + Win32_NetworkAdapterConfiguration (IPAddress, DHCPEnabled) by InterfaceIndex | networkInterfaces() lib/network.js |
 * | netAdapters | MSFT_NetAdapter (Get-NetAdapter) InterfaceIndex, NdisPhysicalMedium, Virtual — instead of `netsh wlan`, whose text is localised | — |
 * | monitors | WmiMonitorID (root\wmi) ManufacturerName, UserFriendlyName, SerialNumberID as UInt16 arrays; Win32_VideoController current resolution | graphics() lib/graphics.js |
 * | os | Win32_OperatingSystem Caption, Version, BuildNumber, OSArchitecture, InstallDate, LastBootUpTime; CurrentVersion DisplayVersion, UBR, EditionID | osInfo() lib/osinfo.js |
 * | users | owners of explorer.exe (Win32_Process GetOwner) | users() lib/users.js (without `query user`, localised) |
 *
 * Numbers stay numbers (BusType 17 = NVMe, MediaType 4 = SSD, NdisPhysicalMedium 9 = 802.11 —
 * learn.microsoft.com msft-physicaldisk, msft-netadapter); times are ISO UTC. Caption and
 * OSArchitecture are shown as Windows prints them (「64 ビット」 on Japanese Windows), never interpreted. Each part has its
 * own try/catch: a part that fails is named in `errors` and only its facts are unknown.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const INVENTORY_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{}
function Invoke-MamoriPart([string]$Part, [scriptblock]$Block) {
  try { $doc[$Part] = & $Block } catch { Add-MamoriError $Part $_; $doc[$Part] = $null }
}
# @() around the call: PowerShell 5.1 unrolls a one-element array returned from a block (PowerShell#11857).
function Invoke-MamoriList([string]$Part, [scriptblock]$Block) {
  try { $doc[$Part] = @(& $Block) } catch { Add-MamoriError $Part $_; $doc[$Part] = $null }
}
Invoke-MamoriPart 'product' { $p = Get-CimInstance Win32_ComputerSystemProduct; [ordered]@{ name = [string]$p.Name; vendor = [string]$p.Vendor; identifyingNumber = [string]$p.IdentifyingNumber; uuid = [string]$p.UUID } }
Invoke-MamoriPart 'computer' {
  $c = Get-CimInstance Win32_ComputerSystem
  [ordered]@{ manufacturer = [string]$c.Manufacturer; model = [string]$c.Model; systemSku = [string]$c.SystemSKUNumber; hypervisorPresent = [bool]$c.HypervisorPresent; totalPhysicalMemory = [int64]$c.TotalPhysicalMemory; partOfDomain = [bool]$c.PartOfDomain; domain = [string]$c.Domain; workgroup = [string]$c.Workgroup; userName = [string]$c.UserName }
}
Invoke-MamoriPart 'bios' { $b = Get-CimInstance Win32_BIOS; [ordered]@{ manufacturer = [string]$b.Manufacturer; smbiosVersion = [string]$b.SMBIOSBIOSVersion; releaseDate = ConvertTo-MamoriIso $b.ReleaseDate; serialNumber = [string]$b.SerialNumber; firmwareType = [string]$env:firmware_type } }
Invoke-MamoriPart 'enclosure' { $e = @(Get-CimInstance Win32_SystemEnclosure)[0]; [ordered]@{ chassisTypes = @($e.ChassisTypes | ForEach-Object { [int]$_ }); serialNumber = [string]$e.SerialNumber; assetTag = [string]$e.SMBIOSAssetTag } }
Invoke-MamoriList 'processor' { @(Get-CimInstance Win32_Processor | ForEach-Object { [ordered]@{ name = [string]$_.Name; manufacturer = [string]$_.Manufacturer; maxClockSpeed = [int]$_.MaxClockSpeed; cores = [int]$_.NumberOfCores; logical = [int]$_.NumberOfLogicalProcessors } }) }
Invoke-MamoriList 'memory' { @(Get-CimInstance Win32_PhysicalMemory | ForEach-Object { [ordered]@{ bankLabel = [string]$_.BankLabel; deviceLocator = [string]$_.DeviceLocator; capacity = [int64]$_.Capacity; smbiosMemoryType = [int]$_.SMBIOSMemoryType; speed = [int]$_.Speed; configuredClockSpeed = [int]$_.ConfiguredClockSpeed; manufacturer = [string]$_.Manufacturer; partNumber = [string]$_.PartNumber; serialNumber = [string]$_.SerialNumber } }) }
Invoke-MamoriList 'diskDrives' { @(Get-CimInstance Win32_DiskDrive | ForEach-Object { [ordered]@{ index = [int]$_.Index; deviceId = [string]$_.DeviceID; model = [string]$_.Model; size = [int64]$_.Size; serialNumber = [string]$_.SerialNumber; firmwareRevision = [string]$_.FirmwareRevision; interfaceType = [string]$_.InterfaceType; status = [string]$_.Status } }) }
Invoke-MamoriList 'physicalDisks' { @(Get-PhysicalDisk | ForEach-Object { [ordered]@{ deviceId = [string]$_.DeviceId; busType = [int]$_.BusType; mediaType = [int]$_.MediaType; serialNumber = [string]$_.SerialNumber } }) }
Invoke-MamoriList 'adapters' {
  $configs = @{}
  foreach ($cfg in @(Get-CimInstance Win32_NetworkAdapterConfiguration)) { $configs[[int]$cfg.InterfaceIndex] = $cfg }
  @(Get-CimInstance Win32_NetworkAdapter | Where-Object { $_.MACAddress } | ForEach-Object {
    $cfg = $configs[[int]$_.InterfaceIndex]
    [ordered]@{ interfaceIndex = [int]$_.InterfaceIndex; name = [string]$_.Name; netConnectionId = [string]$_.NetConnectionID; macAddress = [string]$_.MACAddress; speed = if ($null -ne $_.Speed) { [int64]$_.Speed } else { $null }; physicalAdapter = [bool]$_.PhysicalAdapter; ipAddress = @(if ($cfg) { $cfg.IPAddress | ForEach-Object { [string]$_ } }); dhcpEnabled = if ($cfg) { [bool]$cfg.DHCPEnabled } else { $null } }
  })
}
Invoke-MamoriList 'netAdapters' { @(Get-NetAdapter -IncludeHidden | ForEach-Object { [ordered]@{ interfaceIndex = [int]$_.InterfaceIndex; ndisPhysicalMedium = [int]$_.NdisPhysicalMedium; virtual = [bool]$_.Virtual } }) }
Invoke-MamoriPart 'monitors' {
  $video = @(Get-CimInstance Win32_VideoController | Where-Object { $_.CurrentHorizontalResolution } | ForEach-Object { [ordered]@{ width = [int]$_.CurrentHorizontalResolution; height = [int]$_.CurrentVerticalResolution } })
  $ids = @(Get-CimInstance -Namespace root\\wmi -ClassName WmiMonitorID -ErrorAction SilentlyContinue | ForEach-Object { [ordered]@{ manufacturerName = @($_.ManufacturerName | ForEach-Object { [int]$_ }); userFriendlyName = @($_.UserFriendlyName | ForEach-Object { [int]$_ }); serialNumberId = @($_.SerialNumberID | ForEach-Object { [int]$_ }) } })
  [ordered]@{ controllers = $video; monitors = $ids }
}
Invoke-MamoriPart 'os' {
  $o = Get-CimInstance Win32_OperatingSystem
  $cv = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
  [ordered]@{ caption = [string]$o.Caption; version = [string]$o.Version; buildNumber = [string]$o.BuildNumber; osArchitecture = [string]$o.OSArchitecture; installDate = ConvertTo-MamoriIso $o.InstallDate; lastBootUpTime = ConvertTo-MamoriIso $o.LastBootUpTime; displayVersion = Get-MamoriRegValue $cv 'DisplayVersion'; ubr = Get-MamoriRegValue $cv 'UBR'; editionId = Get-MamoriRegValue $cv 'EditionID' }
}
Invoke-MamoriList 'users' {
  @(Get-CimInstance Win32_Process -Filter "Name = 'explorer.exe'" | ForEach-Object {
    $owner = Invoke-CimMethod -InputObject $_ -MethodName GetOwner
    if ($owner.ReturnValue -eq 0) { [ordered]@{ domain = [string]$owner.Domain; user = [string]$owner.User } }
  })
}
Write-MamoriJson $doc
`;
