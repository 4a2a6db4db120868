import { createRouter, createWebHistory } from 'vue-router'
import JobsView from './views/JobsView.vue'

export const routes = [
  { path: '/', redirect: { name: 'jobs' } },
  { path: '/jobs/:jobID?/:taskID?', name: 'jobs', component: JobsView },
  { path: '/workers/:workerID?', name: 'workers', component: () => import('./views/WorkersView.vue') },
  { path: '/tags', name: 'tags', component: () => import('./views/TagsView.vue') },
  { path: '/last-rendered', name: 'last-rendered', component: () => import('./views/LastRenderedView.vue') },
  { path: '/settings', name: 'settings', component: () => import('./views/SettingsView.vue') },
  { path: '/users', name: 'users', component: () => import('./views/UsersView.vue') },
  { path: '/setup', name: 'setup', component: () => import('./views/SetupAssistant.vue') },
  { path: '/:rest(.*)*', redirect: { name: 'jobs' } },
]

export function makeRouter() {
  return createRouter({ history: createWebHistory('/app/'), routes })
}
