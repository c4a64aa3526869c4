package devserver

import (
	"io"
	"log/slog"
	"os"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/log"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// newServerLogger writes the server's log lines at level and above to w as
// JSON, one object per line. When w is io.Discard the lines that end the
// process (the server logs "fatal" and then exits) still go to os.Stderr, so
// that a process never disappears without a word.
func newServerLogger(w io.Writer, level string) log.Logger {
	encoderConfig := log.DefaultZapEncoderConfig
	// The server adds its own "logging-call-at" field.
	encoderConfig.CallerKey = zapcore.OmitKey
	encoderConfig.EncodeCaller = nil
	core := zapcore.NewCore(
		zapcore.NewJSONEncoder(encoderConfig),
		zapcore.Lock(zapcore.AddSync(w)),
		log.ParseZapLevel(level),
	)
	if w == io.Discard {
		core = zapcore.NewTee(core, zapcore.NewCore(
			zapcore.NewJSONEncoder(encoderConfig),
			zapcore.Lock(os.Stderr),
			zapcore.DPanicLevel,
		))
	}
	return log.NewZapLogger(zap.New(core, zap.AddStacktrace(zapcore.ErrorLevel)))
}

// newClientLogger is the SDK client logger of Dial: text lines on w at level.
func newClientLogger(w io.Writer, level string) sdklog.Logger {
	var l slog.Level
	switch level {
	case "debug":
		l = slog.LevelDebug
	case "info":
		l = slog.LevelInfo
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelWarn
	}
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})))
}
