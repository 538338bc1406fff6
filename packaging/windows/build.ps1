<#
.SYNOPSIS
    Builds the mediasearch Windows installer: dist\mediasearch-<version>-windows-x64-setup.exe.

.DESCRIPTION
    1. creates a virtual environment in build\venv-windows (with -Clean, from scratch),
    2. installs mediasearch and PyInstaller into it,
    3. runs PyInstaller on packaging\mediasearch.spec, giving the one-folder bundle
       dist\mediasearch\ with mediasearch.exe in it,
    4. compiles packaging\windows\mediasearch.iss with Inno Setup 6 (ISCC.exe), passing the
       version read from pyproject.toml as /DAppVersion.

    Works in Windows PowerShell 5.1 and PowerShell 7. Written on Linux and not yet run on
    Windows: see packaging\README.md for what still needs checking there.

.PARAMETER Python
    The Python (3.11 or newer, 64-bit) that creates the virtual environment. Default: the
    "py -3.11" launcher when it is installed, else "python" on PATH.

.PARAMETER Iscc
    Path to ISCC.exe. Default: ISCC.exe on PATH, else the usual Inno Setup 6 folders.

.PARAMETER TorchIndexUrl
    Optional PyTorch wheel index (for example https://download.pytorch.org/whl/cu124) to take
    torch and torchvision from; PyPI's Windows wheels are CPU-only. A CUDA build makes the
    bundle several GB larger.

.PARAMETER Clean
    Delete the virtual environment, build\mediasearch and dist\mediasearch first.

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
#>
[CmdletBinding()]
param(
    [string]$Python = "",
    [string]$Iscc = "",
    [string]$TorchIndexUrl = "",
    [switch]$Clean
)

Set-StrictMode -Version Latest
$ErrorActionPreference = "Stop"

# Native programs report failure only through their exit code, which PowerShell 5.1 ignores.
function Invoke-Native {
    param([Parameter(Mandatory)][string]$Exe, [string[]]$Arguments = @())
    Write-Host "> $Exe $($Arguments -join ' ')"
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "$Exe failed with exit code $LASTEXITCODE"
    }
}

function Find-Iscc {
    param([string]$Given)
    if ($Given) {
        if (-not (Test-Path -LiteralPath $Given -PathType Leaf)) { throw "ISCC.exe not found at $Given" }
        return $Given
    }
    $onPath = Get-Command "ISCC.exe" -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    $candidates = @(
        (Join-Path ${env:ProgramFiles(x86)} "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:ProgramFiles "Inno Setup 6\ISCC.exe"),
        (Join-Path $env:LOCALAPPDATA "Programs\Inno Setup 6\ISCC.exe")
    )
    foreach ($candidate in $candidates) {
        if (Test-Path -LiteralPath $candidate -PathType Leaf) { return $candidate }
    }
    throw "Inno Setup 6 not found: install it (winget install JRSoftware.InnoSetup) or pass -Iscc"
}

$repo = (Resolve-Path (Join-Path $PSScriptRoot "..\..")).Path
Push-Location $repo
try {
    # The base interpreter: an explicit -Python, else the launcher, else python on PATH.
    $pythonArgs = @()
    if (-not $Python) {
        if (Get-Command "py.exe" -ErrorAction SilentlyContinue) {
            $Python = "py.exe"
            $pythonArgs = @("-3.11")
        } else {
            $Python = "python"
        }
    }

    $check = "import struct, sys; sys.exit(None if sys.version_info >= (3, 11) and struct.calcsize('P') == 8 else 'mediasearch needs a 64-bit Python 3.11 or newer, not ' + sys.version)"
    Invoke-Native $Python ($pythonArgs + @("-c", $check))

    $readVersion = "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"
    $version = (& $Python @pythonArgs -c $readVersion).Trim()
    if ($LASTEXITCODE -ne 0 -or -not $version) { throw "could not read the version from pyproject.toml" }
    Write-Host "mediasearch $version"

    $venv = Join-Path $repo "build\venv-windows"
    if ($Clean) {
        foreach ($path in @($venv, "build\mediasearch", "dist\mediasearch")) {
            if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Recurse -Force }
        }
    }
    if (-not (Test-Path -LiteralPath (Join-Path $venv "Scripts\python.exe"))) {
        Invoke-Native $Python ($pythonArgs + @("-m", "venv", $venv))
    }
    $venvPython = Join-Path $venv "Scripts\python.exe"

    Invoke-Native $venvPython @("-m", "pip", "install", "--upgrade", "pip")
    if ($TorchIndexUrl) {
        Invoke-Native $venvPython @("-m", "pip", "install", "torch", "torchvision", "--index-url", $TorchIndexUrl)
    }
    # hnswlib compiles from source: keep it portable (no -march=native).
    $env:HNSWLIB_NO_NATIVE = "1"
    Invoke-Native $venvPython @("-m", "pip", "install", ".[audio,player]", "pyinstaller")

    Invoke-Native $venvPython @("-m", "PyInstaller", "packaging\mediasearch.spec", "--noconfirm")
    $exe = Join-Path $repo "dist\mediasearch\mediasearch.exe"
    if (-not (Test-Path -LiteralPath $exe -PathType Leaf)) {
        throw "PyInstaller did not produce $exe"
    }

    $isccExe = Find-Iscc $Iscc
    Invoke-Native $isccExe @("/DAppVersion=$version", "packaging\windows\mediasearch.iss")

    $setup = Join-Path $repo "dist\mediasearch-$version-windows-x64-setup.exe"
    if (-not (Test-Path -LiteralPath $setup -PathType Leaf)) {
        throw "ISCC did not produce $setup"
    }
    Write-Host "built $setup"
} finally {
    Pop-Location
}
