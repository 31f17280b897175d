/**
 * PowerShell script of the usb-media check on Windows (probe key `win.usb-media`).
 *
 * Disks: Win32_DiskDrive with InterfaceType USB, plus disks Get-PhysicalDisk reports on
 * BusType 7 (USB): UAS sticks/SSDs are driven by uaspstor and show InterfaceType SCSI
 * (platform-probes.md §1.4). Each disk is walked up the PnP tree with DEVPKEY_Device_Parent to
 * its USB device node `USB\VID_xxxx&PID_yyyy\<serial>` (§1.1 step 2); for a composite device
 * the parent is an interface node (`…&MI_00\…`) and the walk goes one step further. The
 * interfaces of a composite device are its children (DEVPKEY_Device_Children) and their
 * compatible ids (`USB\Class_03&SubClass_01&Prot_01`) give the interface classes.
 * Policy: RemovableStorageDevices (Deny_All, Deny_Write per class), StorageDevicePolicies
 * WriteProtect, USBSTOR Start (§1.1 step 5). Only property values are printed, no text.
 */
import { PS_PRELUDE } from '../software/windows-common.js';

export const USB_MEDIA_SCRIPT = `${PS_PRELUDE}
$doc = [ordered]@{ schema = 'mamori.win.usb-media/1'; disks = @(); policy = $null }
# A property the device does not have is null; so is one that cannot be read, which leaves the
# disk without its USB node and the device unknown (never a pass).
function Get-MamoriPnpValue([string]$InstanceId, [string]$KeyName) {
  try { return (Get-PnpDeviceProperty -InstanceId $InstanceId -KeyName $KeyName -ErrorAction Stop).Data } catch { return $null }
}
function Get-MamoriUsbNode([string]$InstanceId) {
  $id = $InstanceId
  for ($i = 0; $i -lt 4 -and $id; $i++) {
    $id = Get-MamoriPnpValue $id 'DEVPKEY_Device_Parent'
    if ($id -match '^USB\\\\VID_[0-9A-Fa-f]{4}&PID_[0-9A-Fa-f]{4}\\\\') { return [string]$id }
  }
  return $null
}
try {
  $usbDiskNumbers = @()
  try {
    $usbDiskNumbers = @(Get-PhysicalDisk | Where-Object { [int]$_.BusType -eq 7 } | ForEach-Object { [int]$_.DeviceId })
  } catch { Add-MamoriError 'physicaldisk' $_ }
  $drives = @(Get-CimInstance -ClassName Win32_DiskDrive | Where-Object { $_.InterfaceType -eq 'USB' -or $usbDiskNumbers -contains [int]$_.Index })
  foreach ($d in $drives) {
    $usbId = Get-MamoriUsbNode ([string]$d.PNPDeviceID)
    $compat = @()
    $hardware = @()
    $busName = $null
    $interfaces = @()
    if ($usbId) {
      $compat = @(Get-MamoriPnpValue $usbId 'DEVPKEY_Device_CompatibleIds')
      $hardware = @(Get-MamoriPnpValue $usbId 'DEVPKEY_Device_HardwareIds')
      $busName = Get-MamoriPnpValue $usbId 'DEVPKEY_Device_BusReportedDeviceDesc'
      foreach ($child in @(Get-MamoriPnpValue $usbId 'DEVPKEY_Device_Children')) {
        if (-not $child) { continue }
        $interfaces += ,([ordered]@{ instanceId = [string]$child; compatibleIds = @(Get-MamoriPnpValue ([string]$child) 'DEVPKEY_Device_CompatibleIds') })
      }
    }
    $volumes = @()
    $readOnly = $null
    try {
      $disk = Get-Disk -Number ([int]$d.Index)
      $readOnly = [bool]$disk.IsReadOnly
      # A disk without partitions makes Get-Partition fail with ObjectNotFound ("No MSFT_Partition
      # objects found"): no volumes. Any other failure is the disk's error.
      $partitions = @()
      try { $partitions = @(Get-Partition -DiskNumber ([int]$d.Index)) } catch { if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') { throw } }
      foreach ($p in $partitions) {
        $label = $null
        $fs = $null
        # The label and file system are shown to people, never judged: a partition without a volume leaves them null.
        try { $v = Get-Volume -Partition $p; $label = $v.FileSystemLabel; $fs = $v.FileSystem } catch { $label = $null }
        $volumes += ,([ordered]@{ accessPaths = @($p.AccessPaths | Where-Object { $_ -and $_ -notlike '\\\\?\\Volume*' }); label = $label; fileSystem = $fs })
      }
    } catch { Add-MamoriError ('disk-' + $d.Index) $_ }
    $doc.disks += ,([ordered]@{
      index = [int]$d.Index
      model = $d.Model
      pnpDeviceId = [string]$d.PNPDeviceID
      interfaceType = $d.InterfaceType
      serialNumber = $d.SerialNumber
      size = $d.Size
      mediaType = $d.MediaType
      usbInstanceId = $usbId
      usbHardwareIds = @($hardware)
      usbCompatibleIds = @($compat)
      busReportedName = $busName
      interfaces = @($interfaces)
      isReadOnly = $readOnly
      volumes = @($volumes)
    })
  }
} catch { Add-MamoriError 'disks' $_ }
try {
  $rsd = 'HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\RemovableStorageDevices'
  $doc.policy = [ordered]@{
    denyAll = Get-MamoriRegValue $rsd 'Deny_All'
    removableDisksDenyWrite = Get-MamoriRegValue ($rsd + '\\{53f5630d-b6bf-11d0-94f2-00a0c91efb8b}') 'Deny_Write'
    diskDrivesDenyWrite = Get-MamoriRegValue ($rsd + '\\{53f56307-b6bf-11d0-94f2-00a0c91efb8b}') 'Deny_Write'
    storageWriteProtect = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\StorageDevicePolicies' 'WriteProtect'
    usbstorStart = Get-MamoriRegValue 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\USBSTOR' 'Start'
  }
} catch { Add-MamoriError 'policy' $_ }
Write-MamoriJson $doc`;
