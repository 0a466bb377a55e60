/**
 * Which registration state changes are worth a log line. A successful refresh (registered → registering →
 * registered) changes nothing an operator cares about and, with thousands of trunks, would be most of the
 * log; a refresh that fails reads as registered → failed.
 */
import type { RegistrationState } from './gateway-registration';

export interface LoggedChange {
  from: RegistrationState;
  to: RegistrationState;
}

export class StateChangeFilter<K extends object> {
  /** Registrations whose refresh is in flight: their registered → registering change was held back. */
  private readonly refreshing = new WeakSet<K>();

  /** The change to log, or undefined when it is part of a successful refresh. */
  changed(registration: K, from: RegistrationState, to: RegistrationState): LoggedChange | undefined {
    if (from === 'registered' && to === 'registering') {
      this.refreshing.add(registration);
      return undefined;
    }
    const wasRefreshing = this.refreshing.delete(registration);
    if (wasRefreshing && to === 'registered') return undefined;
    return { from: wasRefreshing ? 'registered' : from, to };
  }
}
