// Status-change notifications: the footer shows the newest for a few
// seconds; the history keeps the last 1000.
import { defineStore } from 'pinia'
import { ref } from 'vue'

const MAX = 1000
let counter = 0

export const useNotifications = defineStore('notifications', () => {
  const history = ref([])
  const latest = ref(null)
  let timer = null

  function add(message, level = 'info') {
    const entry = { id: ++counter, time: new Date(), message, level }
    history.value.unshift(entry)
    if (history.value.length > MAX) history.value.length = MAX
    latest.value = entry
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (latest.value === entry) latest.value = null
    }, 5000)
  }

  const error = (message) => add(message, 'error')

  return { history, latest, add, error }
})
