/** Defaults of the OS paths read by the Linux sign-in collector (the check's `params`). */
export const LINUX_SIGN_IN_PARAMS = {
  /** PAM stacks: Debian/Ubuntu common-*, RHEL/Rocky system-auth and password-auth (authselect). */
  pamDir: '/etc/pam.d',
  securityDir: '/etc/security',
  loginDefsPath: '/etc/login.defs',
  /** GDM: /etc/gdm3 on Debian/Ubuntu, /etc/gdm on RHEL. */
  gdmConfPaths: ['/etc/gdm3/custom.conf', '/etc/gdm/custom.conf'],
  lightdmConfPath: '/etc/lightdm/lightdm.conf',
  lightdmConfDir: '/etc/lightdm/lightdm.conf.d',
  sddmConfPath: '/etc/sddm.conf',
  sddmConfDir: '/etc/sddm.conf.d',
};
