// The Manager itself: name, version, farm status, first-run flag.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import { get } from '../api.js'

export const useFarm = defineStore('farm', () => {
  const status = ref('unknown')
  const name = ref('Flamenco')
  const version = ref('')
  const configuration = ref(null)

  async function fetchStatus() {
    const body = await get('/status')
    status.value = body.status
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

  return { status, name, version, configuration, fetchStatus, fetchVersion, fetchConfiguration }
})
