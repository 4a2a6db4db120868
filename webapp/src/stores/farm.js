// The Manager itself: name, version, farm status (with a full disk, if any), first-run flag.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { get } from '../api.js'

export const useFarm = defineStore('farm', () => {
  const status = ref('unknown')
  const diskFull = ref('') // FarmStatusReport.disk_full (ours): which disk is full, '' when none
  const name = ref('Flamenco')
  const version = ref('')
  const configuration = ref(null)

  async function fetchStatus() {
    applyReport(await get('/status'))
  }

  function applyReport(report) {
    status.value = report.status
    diskFull.value = report.disk_full || ''
  }

  async function fetchVersion() {
    const body = await get('/version')
    name.value = body.name
    version.value = body.version
    document.title = body.name
    return body
  }

  async function fetchConfiguration() {
    configuration.value = await get('/configuration')
    return configuration.value
  }

  return { status, diskFull, name, version, configuration, fetchStatus, applyReport, fetchVersion, fetchConfiguration }
})
