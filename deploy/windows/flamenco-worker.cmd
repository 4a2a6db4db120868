@echo off
rem Starts the Flamenco Worker; run by the "Flamenco Worker" scheduled task (flamenco-worker-task.xml).
rem Install: see docs\user-guide\install.md ("Windows"). C:\Flamenco holds this file,
rem flamenco-worker.pyz and, optionally, flamenco-worker.yaml.

rem A task started at boot sees no drive letters mapped in someone's session: map the shared
rem storage here, with the same letter as the Manager's two-way variable uses for Windows.
rem net use R: \\fileserver\render /persistent:no

cd /d C:\Flamenco
set FLAMENCO_HOME=C:\Flamenco\worker-home
set SHIV_ROOT=C:\Flamenco\.shiv

rem Exit code 0: the Manager sent this Worker offline, so stay down. Anything else (47: the
rem Manager asked for a restart; 1: the Manager could not be reached, ...) starts it again.
:run
py -3 C:\Flamenco\flamenco-worker.pyz -restart-exit-code 47 >> C:\Flamenco\flamenco-worker.log 2>&1
if %ERRORLEVEL% EQU 0 exit /b 0
powershell -NoProfile -Command "Start-Sleep -Seconds 10"
goto run
