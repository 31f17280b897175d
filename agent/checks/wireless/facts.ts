/** Facts of the wireless check: Wi-Fi adapters and the wireless networks the PC is connected to. */
import { z } from 'zod';

export const WifiAdapter = z.object({
  name: z.string().describe('Adapter name (Windows Get-NetAdapter Name, Linux interface name)'),
  enabled: z.boolean().describe('The adapter is on: Windows not disabled and administratively up; Linux NetworkManager state other than unavailable/unmanaged (the radio switched off makes it unavailable)'),
  connected: z.boolean().describe('Associated with a network now'),
});
export const WifiConnection = z.object({
  ssid: z.string().describe('SSID of the connected network'),
  security: z.string().describe('Authentication as the OS names it: Windows WLAN profile <authentication> (WPA2, WPA2PSK, WPA3SAE, open …); Linux NetworkManager key-mgmt (wpa-eap, wpa-psk, sae, none …)'),
  enterprise: z.boolean().describe('WPA2/WPA3-Enterprise: 802.1X authentication of each user or device (Windows WPA2, WPA3, WPA3ENT, WPA3ENT192; Linux wpa-eap, wpa-eap-suite-b-192)'),
});
export type WifiAdapter = z.infer<typeof WifiAdapter>;
export type WifiConnection = z.infer<typeof WifiConnection>;

export const WirelessFacts = z.object({
  wifiAdapters: z.array(WifiAdapter).describe('Physical Wi-Fi adapters (Windows NdisPhysicalMedium 9 = Native 802.11; Linux NetworkManager devices of type wifi, or /sys/class/net/*/wireless)'),
  wifiConnections: z.array(WifiConnection).describe('Wireless networks connected now'),
});
export type WirelessFacts = z.infer<typeof WirelessFacts>;
