/**
 * Every string the widget shows, in French and English (it follows the host client's language),
 * with one message per error kind in each (typed as a `Record` over the kinds: exhaustive).
 */
import type { CallErrorKind } from './errors.ts';
import type { Lang } from './url-params.ts';

const frErrors: Record<CallErrorKind, string> = {
  not_member: 'Vous n’êtes pas membre de ce salon : demandez une invitation pour rejoindre l’appel.',
  call_not_started:
    'L’appel n’a pas encore commencé : il doit être lancé par un membre de l’organisation qui l’accueille.',
  unauthorized: 'Votre serveur Matrix n’a pas confirmé votre identité. Reconnectez-vous puis réessayez.',
  token_service_unreachable: 'Le service d’appel est injoignable. Vérifiez votre connexion puis réessayez.',
  livekit_unreachable: 'Le serveur média est injoignable. Vérifiez votre connexion puis réessayez.',
  no_media_permission:
    'L’accès à la caméra ou au micro a été refusé. Autorisez-le dans votre navigateur, ou rejoignez sans.',
  removed: 'Vous avez été retiré de l’appel.',
  bad_params: 'Ce lien d’appel est incomplet (salon ou utilisateur manquant).',
  widget_api: 'Votre client Matrix n’a pas autorisé le widget d’appel.',
  e2ee_unavailable:
    'Les appels chiffrés de bout en bout ne sont pas encore disponibles : ce salon est chiffré, l’appel n’a pas été lancé.',
  bad_user_id: 'Un identifiant Matrix ressemble à @prenom.nom:exemple.fr.',
  homeserver_unreachable: 'Votre serveur Matrix est injoignable.',
  wrong_password: 'Identifiant ou mot de passe incorrect.',
  sign_in_failed: 'La connexion a échoué.',
  unknown: 'Une erreur inattendue s’est produite.',
};

const enErrors: Record<CallErrorKind, string> = {
  not_member: 'You are not a member of this room: ask for an invitation to join the call.',
  call_not_started: 'The call has not started yet: a member of the hosting organisation has to start it.',
  unauthorized: 'Your Matrix server did not confirm who you are. Sign in again and retry.',
  token_service_unreachable: 'The call service cannot be reached. Check your connection and try again.',
  livekit_unreachable: 'The media server cannot be reached. Check your connection and try again.',
  no_media_permission: 'Access to the camera or microphone was denied. Allow it in your browser, or join without.',
  removed: 'You were removed from the call.',
  bad_params: 'This call link is incomplete (room or user missing).',
  widget_api: 'Your Matrix client did not allow the call widget.',
  e2ee_unavailable:
    'End-to-end encrypted calls are not available yet: this room is encrypted, so the call was not started.',
  bad_user_id: 'A Matrix ID looks like @first.last:example.org.',
  homeserver_unreachable: 'Your Matrix server cannot be reached.',
  wrong_password: 'Wrong Matrix ID or password.',
  sign_in_failed: 'Signing in failed.',
  unknown: 'Something unexpected went wrong.',
};

const fr = {
  appTitle: 'Causerie',
  lobbyTitle: 'Prêt à rejoindre ?',
  join: 'Rejoindre l’appel',
  joining: 'Connexion…',
  leave: 'Quitter',
  micOn: 'Couper le micro',
  micOff: 'Activer le micro',
  camOn: 'Couper la caméra',
  camOff: 'Activer la caméra',
  camera: 'Caméra',
  microphone: 'Micro',
  noCamera: 'Caméra désactivée',
  you: 'Vous',
  participants: (n: number) => `${n} participant${n > 1 ? 's' : ''}`,
  leftTitle: 'Vous avez quitté l’appel.',
  waitingForHost: 'L’appel est prêt : il démarre dès que vous le rejoignez depuis votre client.',
  rejoin: 'Rejoindre à nouveau',
  muted: 'micro coupé',
  speaking: 'parle',
  retry: 'Réessayer',
  signInTitle: 'Rejoindre l’appel avec votre compte Matrix',
  signInHelp: 'Connectez-vous sur votre propre serveur Matrix (celui de votre organisation).',
  userIdLabel: 'Identifiant Matrix',
  passwordLabel: 'Mot de passe',
  signIn: 'Se connecter',
  shareScreen: 'Partager l’écran',
  stopShare: 'Arrêter le partage',
  raiseHand: 'Lever la main',
  lowerHand: 'Baisser la main',
  handRaised: (n: number) => `main levée (${n})`,
  reactions: 'Réactions',
  react: (emoji: string) => `Réagir ${emoji}`,
  showPeople: 'Afficher les participants',
  hidePeople: 'Masquer les participants',
  peopleTitle: 'Participants',
  micState: (on: boolean): string => (on ? 'micro actif' : 'micro coupé'),
  camState: (on: boolean): string => (on ? 'caméra active' : 'caméra coupée'),
  pin: (name: string) => `Épingler ${name}`,
  unpin: (name: string) => `Désépingler ${name}`,
  dismiss: 'Fermer',
  quality: (q: string) =>
    ({
      excellent: 'connexion excellente',
      good: 'bonne connexion',
      poor: 'connexion faible',
      lost: 'connexion perdue',
    })[q] ?? '',
  errors: frErrors,
};

export type Strings = typeof fr;

const en: Strings = {
  appTitle: 'Causerie',
  lobbyTitle: 'Ready to join?',
  join: 'Join the call',
  joining: 'Connecting…',
  leave: 'Leave',
  micOn: 'Mute microphone',
  micOff: 'Unmute microphone',
  camOn: 'Turn camera off',
  camOff: 'Turn camera on',
  camera: 'Camera',
  microphone: 'Microphone',
  noCamera: 'Camera off',
  you: 'You',
  participants: (n: number) => `${n} participant${n > 1 ? 's' : ''}`,
  leftTitle: 'You left the call.',
  waitingForHost: 'The call is ready: it starts as soon as you join from your client.',
  rejoin: 'Join again',
  muted: 'muted',
  speaking: 'speaking',
  retry: 'Try again',
  signInTitle: 'Join the call with your Matrix account',
  signInHelp: 'Sign in on your own Matrix server (your organisation’s).',
  userIdLabel: 'Matrix ID',
  passwordLabel: 'Password',
  signIn: 'Sign in',
  shareScreen: 'Share screen',
  stopShare: 'Stop sharing',
  raiseHand: 'Raise hand',
  lowerHand: 'Lower hand',
  handRaised: (n: number) => `hand raised (${n})`,
  reactions: 'Reactions',
  react: (emoji: string) => `React ${emoji}`,
  showPeople: 'Show participants',
  hidePeople: 'Hide participants',
  peopleTitle: 'Participants',
  micState: (on: boolean) => (on ? 'microphone on' : 'microphone off'),
  camState: (on: boolean) => (on ? 'camera on' : 'camera off'),
  pin: (name: string) => `Pin ${name}`,
  unpin: (name: string) => `Unpin ${name}`,
  dismiss: 'Dismiss',
  quality: (q: string) =>
    ({ excellent: 'excellent connection', good: 'good connection', poor: 'poor connection', lost: 'connection lost' })[
      q
    ] ?? '',
  errors: enErrors,
};

export const strings = (lang: Lang): Strings => (lang === 'fr' ? fr : en);
