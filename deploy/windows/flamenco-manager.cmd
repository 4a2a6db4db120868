@echo off
rem Starts the Flamenco Manager; run by the "Flamenco Manager" scheduled task (flamenco-manager-task.xml).
rem Install: see docs\user-guide\install.md ("Windows"). C:\Flamenco holds this file,
rem flamenco-manager.pyz, flamenco-manager.yaml, the database, task logs and scripts\.

cd /d C:\Flamenco
set SHIV_ROOT=C:\Flamenco\.shiv
rem Exit code 0: stopped on purpose, stay down. Anything else: start again after 10 s.
:run
py -3 C:\Flamenco\flamenco-manager.pyz >> C:\Flamenco\flamenco-manager.log 2>&1
if %ERRORLEVEL% EQU 0 exit /b 0
powershell -NoProfile -Command "Start-Sleep -Seconds 10"
goto run
