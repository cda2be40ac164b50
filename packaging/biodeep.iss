; Inno Setup 6 script: a per-user Windows installer for the one-folder PyInstaller build (dist\BioDeep).
;
;   python packaging\build                      (runs ISCC with the defines below when Inno Setup is installed)
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 /DSourceDir=dist\BioDeep /DOutputDir=dist packaging\biodeep.iss
;
; Installs per user by default (no administrator rights; %LOCALAPPDATA%\Programs\BioDeep), or for all users in
; Program Files when run elevated. The install folder is never written to by the app: settings, logs, caches and
; crash reports live in the user's folders (biodeep_gui.paths), so a read-only Program Files install works.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\dist\BioDeep"
#endif
#ifndef OutputDir
  #define OutputDir "..\dist"
#endif

[Setup]
; A fixed AppId: upgrades replace the previous version instead of installing beside it.
AppId={{6C2B7E4A-9D51-4F0B-A3C8-2E1F5B7D9A64}
AppName=BioDeep
AppVersion={#AppVersion}
AppVerName=BioDeep {#AppVersion}
AppPublisher=BioDeep
DefaultDirName={autopf}\BioDeep
DefaultGroupName=BioDeep
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=BioDeep-{#AppVersion}-windows-setup
; torch's libraries are large and already dense: lzma2 at its normal level is the best size / time trade-off
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\BioDeep.exe

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\BioDeep"; Filename: "{app}\BioDeep.exe"
Name: "{autodesktop}\BioDeep"; Filename: "{app}\BioDeep.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\BioDeep.exe"; Description: "{cm:LaunchProgram,BioDeep}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; only what the installer put there; the user's runs, settings and logs in their own folders are kept
Type: filesandordirs; Name: "{app}\_internal"
