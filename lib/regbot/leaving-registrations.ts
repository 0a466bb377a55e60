/**
 * Registrations of gateways handed over to another owner while our Contact carries this SBC's public
 * address. The new owner registers a Contact of its own, so ours would point the carrier at an SBC that no
 * longer has the gateway; it is un-REGISTERed, but only after the new owner has had time to register, and
 * refreshed meanwhile (its Call-ID is ours alone, so the two never collide).
 */
import type { GatewayRegistration } from './gateway-registration';
import type { RegistrationTarget } from './registration-target';

/** Time a new owner has for the REGISTER exchange of a gateway it took over (the reference waits 10 s). */
export const HANDOVER_SETTLE_MS = 10000;

/**
 * How long a new owner may need before its binding is in place: its next heartbeat (when it sees the
 * change), the pacing of the `count` registrations that moved, and the REGISTER exchange itself.
 */
export function handOverGraceMs(heartbeatMs: number, count: number, newPerSecond: number): number {
  const pacingMs = newPerSecond > 0 ? Math.ceil((count * 1000) / newPerSecond) : 0;
  return heartbeatMs + pacingMs + HANDOVER_SETTLE_MS;
}

export class LeavingRegistrations {
  private readonly leaving = new Map<string, { reg: GatewayRegistration; timer: NodeJS.Timeout }>();
  /** Delayed un-REGISTERs sent and not finished yet. */
  private unregistering = 0;

  /** `onUnregistered`: after each delayed un-REGISTER has finished. */
  constructor(private readonly onUnregistered: () => void) {}

  /** Still leaving, or un-REGISTERing. */
  get size(): number {
    return this.leaving.size + this.unregistering;
  }

  /** Keeps `reg` refreshing for `graceMs`, then un-REGISTERs it. */
  add(reg: GatewayRegistration, graceMs: number): void {
    const sid = reg.target.gatewaySid;
    const timer = setTimeout(() => {
      if (this.leaving.get(sid)?.reg !== reg) return;
      this.leaving.delete(sid);
      this.unregistering++;
      void reg.stop({ unregister: true }).catch(() => undefined).finally(() => {
        this.unregistering--;
        this.onUnregistered();
      });
    }, graceMs);
    timer.unref();
    this.leaving.set(sid, { reg, timer });
  }

  /**
   * The gateway came back to us (its new owner left): the leaving registration stops without an
   * un-REGISTER (we are about to refresh that binding again) unless the gateway changed meanwhile.
   */
  takeBack(target: RegistrationTarget): { reg: GatewayRegistration; done: Promise<void> } | undefined {
    const entry = this.leaving.get(target.gatewaySid);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.leaving.delete(target.gatewaySid);
    return { reg: entry.reg, done: entry.reg.stop({ unregister: entry.reg.target.configKey !== target.configKey }) };
  }

  /** Shutdown: every one still leaving, timers cancelled (the caller decides about the un-REGISTER). */
  takeAll(): GatewayRegistration[] {
    const regs = [...this.leaving.values()].map(({ reg, timer }) => {
      clearTimeout(timer);
      return reg;
    });
    this.leaving.clear();
    return regs;
  }
}
