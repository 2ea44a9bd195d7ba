-- A busted output handler: one line per test, failures with their message,
-- skipped tests with their reason, and a closing "N passed, N failed, N skipped".
return function(options)
  local busted = require "busted"
  local handler = require("busted.outputHandlers.base")()
  local counts = { passed = 0, failed = 0, skipped = 0 }

  local function say(...)
    io.write(...)
    io.write("\n")
    io.flush()
  end

  local function describe_failure(t)
    local message = t.message
    if type(message) ~= "string" then message = require("pl.pretty").write(message) end
    local where = t.trace and t.trace.short_src and (t.trace.short_src .. ":" .. t.trace.currentline) or ""
    say("FAIL ", t.name, "  ", where)
    say("     ", ((message or "nil error"):gsub("\n", "\n     ")))
    if options.verbose and t.trace and t.trace.traceback then say(t.trace.traceback) end
  end

  handler.testEnd = function(_, _, status)
    if status == "success" then
      counts.passed = counts.passed + 1
      say("ok   ", handler.successes[#handler.successes].name)
    elseif status == "pending" then
      counts.skipped = counts.skipped + 1
      local t = handler.pendings[#handler.pendings]
      say("SKIP ", t.name, (t.message and t.message ~= t.name) and (": " .. t.message) or "")
    else
      counts.failed = counts.failed + 1
      describe_failure(status == "failure" and handler.failures[#handler.failures] or handler.errors[#handler.errors])
    end
    return nil, true
  end

  handler.error = function(element)
    if element.descriptor ~= "it" then
      counts.failed = counts.failed + 1
      describe_failure(handler.errors[#handler.errors])
    end
    return nil, true
  end

  handler.suiteEnd = function()
    say("")
    say(("%d passed, %d failed, %d skipped"):format(counts.passed, counts.failed, counts.skipped))
    return nil, true
  end

  busted.subscribe({ "test", "end" }, handler.testEnd, { predicate = handler.cancelOnPending })
  busted.subscribe({ "error" }, handler.error)
  busted.subscribe({ "suite", "end" }, handler.suiteEnd)
  return handler
end
