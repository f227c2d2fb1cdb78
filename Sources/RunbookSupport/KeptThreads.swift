// System threads for `parallel`'s branches, kept for the life of the process and reused: a
// program is started so that it dies with the thread that started it (CSystem.h,
// PR_SET_PDEATHSIG), and a branch may open a connection the whole run keeps (another
// host's agent, behind ssh), so the thread that opened it must not end with the branch.

import Dispatch

public final class KeptThreads: @unchecked Sendable {
    package static let shared = KeptThreads()

    /// One job running, and how its caller waits for it.
    package final class Job: @unchecked Sendable {
        fileprivate let finished = DispatchSemaphore(value: 0)
        /// Waits until the job has run.
        package func wait() { finished.wait() }
    }

    private final class Worker: @unchecked Sendable {
        let wake = DispatchSemaphore(value: 0)
        var work: (() -> Void, Job)?
    }

    private let mutex = DispatchSemaphore(value: 1)
    private var idle: [Worker] = []

    /// Runs `body` on a kept thread (an idle one, or a new one); fails with one line when
    /// the system gives no thread.
    package func start(_ body: @escaping () -> Void) throws -> Job {
        let job = Job()
        mutex.wait()
        let reused = idle.popLast()
        mutex.signal()
        let worker = reused ?? Worker()
        worker.work = (body, job)
        if reused == nil {
            var handle = pthread_t()
            let box = Unmanaged.passRetained(LoopBox { [self] in loop(worker) }).toOpaque()
            let status = pthread_create(&handle, nil, { raw in
                Unmanaged<LoopBox>.fromOpaque(raw!).takeRetainedValue().run()
                return nil
            }, box)
            if status != 0 {
                Unmanaged<LoopBox>.fromOpaque(box).release()
                throw SystemError("start a thread", "parallel", code: status)
            }
            pthread_detach(handle)
        }
        worker.wake.signal()
        return job
    }

    private func loop(_ worker: Worker) {
        while true {
            worker.wake.wait()
            guard let (body, job) = worker.work else { continue }
            worker.work = nil
            body()
            mutex.wait()
            idle.append(worker)
            mutex.signal()
            job.finished.signal()
        }
    }

    private final class LoopBox {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
}
