// Live updates over Socket.IO (python-socketio 5 on the Manager, EIO4).
//
// Views subscribe to the rooms they show through `useLive`; the
// subscriptions are reference counted and sent again after every reconnect,
// because the Manager forgets rooms when a socket drops (or it restarts).
// `useLive` reloads a view's data whenever its subscription is acknowledged.
import { onBeforeUnmount, ref, watch } from 'vue'

export const connected = ref(false)
export const everConnected = ref(false)

let socket = null
const wanted = new Map() // "type:uuid" -> {type, uuid, count}
const handlers = new Map() // event name -> Set of callbacks
const reconnectHooks = new Set()
const refusedHooks = new Set()
const LOAD_WITHOUT_SOCKET_MS = 1500

function emitSubscription(op, type, uuid) {
  if (!socket || !socket.connected) return
  const msg = { op, type }
  if (uuid) msg.uuid = uuid
  const key = `${type}:${uuid || ''}`
  socket.emit('/subscription', msg, () => {
    // The Manager has joined (or refused) the room: from here on no event is
    // missed, so this is when views (re)load what they show.
    const entry = wanted.get(key)
    if (op !== 'subscribe' || !entry) return
    entry.acked = true
    for (const fn of [...entry.listeners]) fn()
  })
}

let starting = null

let wantSocket = false

/**
 * Connect, unless connected already; again after `stopSocket()` (a new login).
 * socket.io-client is loaded apart from the app, so the first page is drawn
 * without waiting for it to be parsed.
 */
export function startSocket() {
  wantSocket = true
  if (socket) return Promise.resolve(socket)
  if (!starting) {
    starting = import('socket.io-client').then(({ io }) => {
      starting = null
      return socket || !wantSocket ? socket : connect(io)
    })
  }
  return starting
}

function connect(io) {
  socket = io({
    path: '/socket.io/',
    transports: ['websocket'],
    reconnectionDelay: 250,
    reconnectionDelayMax: 3000,
    timeout: 2000,
  })
  socket.on('connect', () => {
    const again = everConnected.value
    connected.value = true
    everConnected.value = true
    for (const { type, uuid } of wanted.values()) emitSubscription('subscribe', type, uuid)
    if (again) for (const hook of reconnectHooks) hook()
  })
  socket.on('disconnect', () => {
    connected.value = false
    for (const entry of wanted.values()) entry.acked = false
  })
  socket.on('connect_error', () => {
    // Refused by the Manager (with auth on: no valid session): socket.io does not retry that.
    if (socket && !socket.active) for (const hook of refusedHooks) hook()
  })
  socket.onAny((event, payload) => {
    const set = handlers.get(event)
    if (set) for (const fn of set) fn(payload)
  })
  return socket
}

/**
 * Close the connection (at logout, or when the session is gone): the
 * Manager would refuse it anyway. Subscriptions stay wanted and are sent
 * again by the next `startSocket()`.
 */
export function stopSocket() {
  wantSocket = false
  if (!socket) return
  const old = socket
  socket = null
  old.disconnect()
  connected.value = false
  everConnected.value = false
  for (const entry of wanted.values()) entry.acked = false
}

/** Call `fn(payload)` for each `event` ("/jobs", "/task", ...). Returns an unsubscribe function. */
export function onEvent(event, fn) {
  if (!handlers.has(event)) handlers.set(event, new Set())
  handlers.get(event).add(fn)
  return () => handlers.get(event).delete(fn)
}

/** Run `fn` when the Manager refuses the connection (it is not retried). */
export function onRefused(fn) {
  refusedHooks.add(fn)
  return () => refusedHooks.delete(fn)
}

/** Run `fn` after every reconnect (not on the first connect). */
export function onReconnect(fn) {
  reconnectHooks.add(fn)
  return () => reconnectHooks.delete(fn)
}

export function subscribe(type, uuid = '') {
  const key = `${type}:${uuid}`
  const entry = wanted.get(key)
  if (entry) {
    entry.count++
    return
  }
  wanted.set(key, { type, uuid, count: 1, acked: false, listeners: new Set() })
  emitSubscription('subscribe', type, uuid)
}

export function unsubscribe(type, uuid = '') {
  const key = `${type}:${uuid}`
  const entry = wanted.get(key)
  if (!entry) return
  if (--entry.count > 0) return
  wanted.delete(key)
  emitSubscription('unsubscribe', type, uuid)
}

/** What the Manager has confirmed this page is subscribed to ("type:uuid"); for tests. */
export function subscriptions() {
  return [...wanted.entries()].filter(([, e]) => e.acked).map(([key]) => key)
}

/**
 * Inside a component's setup: subscribe to `type` (following the ID that
 * `uuidSource` returns, if given) and call `load(uuid)` once the Manager has
 * acknowledged the subscription, and again after every re-subscription (a
 * reconnect, a Manager restart). Loading after the acknowledgement means no
 * change falls between the data and the first event. Without a live
 * connection the data is loaded after `LOAD_WITHOUT_SOCKET_MS` anyway.
 */
export function useLive(type, uuidSource, load) {
  let current = null
  let timer = null
  const listener = () => {
    clearTimeout(timer)
    timer = null
    load(current)
  }
  function attach(uuid) {
    const key = `${type}:${uuid}`
    subscribe(type, uuid)
    const entry = wanted.get(key)
    entry.listeners.add(listener)
    if (entry.acked) load(uuid)
    else timer = setTimeout(listener, LOAD_WITHOUT_SOCKET_MS)
  }
  function detach(uuid) {
    clearTimeout(timer)
    const entry = wanted.get(`${type}:${uuid}`)
    if (entry) entry.listeners.delete(listener)
    unsubscribe(type, uuid)
  }
  if (!uuidSource) {
    current = ''
    attach('')
    onBeforeUnmount(() => detach(''))
    return
  }
  watch(
    uuidSource,
    (uuid) => {
      uuid = uuid || ''
      if (uuid === current) return
      if (current) detach(current)
      current = uuid
      if (current) attach(current)
    },
    { immediate: true },
  )
  onBeforeUnmount(() => current && detach(current))
}

/** Inside a component's setup: handle `event` while the component lives. */
export function useEvent(event, fn) {
  const off = onEvent(event, fn)
  onBeforeUnmount(off)
}

if (typeof window !== 'undefined') {
  window.__flamencoSubscriptions = subscriptions
}
