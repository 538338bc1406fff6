; Inno Setup 6 script for the mediasearch Windows installer.
;
; Built by packaging\windows\build.ps1, which runs PyInstaller first (the one-folder bundle
; dist\mediasearch\ with mediasearch.exe in it) and then:
;   ISCC.exe /DAppVersion=<version from pyproject.toml> packaging\windows\mediasearch.iss
; The result is dist\mediasearch-<version>-windows-x64-setup.exe.
;
; Written on Linux and not yet compiled or run on Windows: see packaging\README.md.

#ifndef AppVersion
  #error Pass the version on the command line: ISCC.exe /DAppVersion=0.1.0 mediasearch.iss
#endif

#define AppName "mediasearch"
#define AppExe "mediasearch.exe"
; This script lives in packaging\windows; every path below starts from the repo root, two up.
#define RepoRoot ExtractFileDir(ExtractFileDir(RemoveBackslash(SourcePath)))

[Setup]
; The AppId identifies the installation across versions (upgrades, the uninstall entry).
; Never change it, and never reuse it for another app.
AppId={{317920DB-9E7B-4323-A89A-F8315E4E449E}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=the mediasearch authors
AppComments=Private, local, instant search for your own photos and media
LicenseFile={#RepoRoot}\LICENSE

; Per-user by default, so no administrator is needed; the first page lets a user who is an
; administrator install for all users instead (or pass /ALLUSERS or /CURRENTUSER).
; {autopf} is then %LOCALAPPDATA%\Programs for one user, or Program Files for all users.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes

; The bundle is 64-bit x86 only (torch, onnxruntime and Qt wheels for win_amd64); Arm64
; Windows 11 runs it under emulation. Qt 6 needs Windows 10 1809 or later.
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0.17763

SetupIconFile={#RepoRoot}\resources\icons\mediasearch.ico
UninstallDisplayIcon={app}\mediasearch.ico
UninstallDisplayName={#AppName}
WizardStyle=modern

; torch and friends make a large bundle: one solid LZMA2 stream compresses it best.
Compression=lzma2/max
SolidCompression=yes
OutputDir={#RepoRoot}\dist
OutputBaseFilename={#AppName}-{#AppVersion}-windows-x64-setup

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: libraries a newer PyInstaller or torch no longer ships
; must not linger next to the new ones. Only the bundle's own folder is removed.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#RepoRoot}\dist\mediasearch\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
Source: "{#RepoRoot}\resources\icons\mediasearch.ico"; DestDir: "{app}"; Flags: ignoreversion

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; IconFilename: "{app}\mediasearch.ico"; Comment: "Search your own photos"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; IconFilename: "{app}\mediasearch.ico"; Comment: "Search your own photos"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; No [UninstallDelete] on purpose. The uninstaller removes only what this installer put in
; {app} and leaves the user's library alone: the catalog, the index and settings.toml in
; %LOCALAPPDATA%\mediasearch, and the downloaded model weights and thumbnails in
; %LOCALAPPDATA%\mediasearch\Cache (platformdirs' user data and cache folders; a different
; place when MEDIASEARCH_HOME or --home is set). They are the user's work, hours of indexing
; to rebuild, and a reinstall or upgrade picks them up again. Deleting them is the user's
; call (the folder is named in packaging\README.md). {app} never overlaps them: it is
; %LOCALAPPDATA%\Programs\mediasearch, or Program Files\mediasearch for all users.
